import EucaDaemon

@main
enum EucaCC {
    static func main() async { await ClusterCommand.main(registry: .builtIn) }
}
