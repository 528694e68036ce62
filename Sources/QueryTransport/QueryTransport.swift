// QueryTransport
