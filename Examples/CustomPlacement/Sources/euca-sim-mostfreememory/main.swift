// The whole simulator: Euca's euca-sim, with this package's policy in its registry.
import EucaSimCommand
import MostFreeMemory

SimCommand.main(registry: .withMostFreeMemory)
