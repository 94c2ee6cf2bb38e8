// The whole daemon: Euca's cluster controller, with this package's policy in its registry.
import EucaDaemon
import MostFreeMemory

await ClusterCommand.main(registry: .withMostFreeMemory)
