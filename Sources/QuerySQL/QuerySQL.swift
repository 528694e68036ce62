// QuerySQL
