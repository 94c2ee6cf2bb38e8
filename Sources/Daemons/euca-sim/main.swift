// euca-sim: the simulator's command with the built-in placement policies.
import EucaScheduler
import EucaSimCommand

SimCommand.main(registry: .builtIn)
