// The umbrella module: `import NeuralSDE` brings in every layer of the library.
@_exported import NSDETensor
@_exported import NSDENN
@_exported import NSDECore
@_exported import NSDEData
@_exported import NSDEModels
@_exported import NSDEPlot
@_exported import NSDETraining
@_exported import NSDERobustness
@_exported import NSDEStability
@_exported import NSDEExperiments
@_exported import NSDEDistributed
