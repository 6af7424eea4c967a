import NSDETensor
