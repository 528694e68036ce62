// QuerySim
