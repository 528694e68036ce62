print("query-node")
