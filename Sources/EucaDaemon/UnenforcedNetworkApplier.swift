public import EucaNet
import Foundation
public import Logging

/// The applier for modes that do not enforce security groups (SYSTEM): it says once what it was
/// handed, so an operator is not misled into thinking rules are in force.
public actor UnenforcedNetworkApplier: NetworkApplier {
    private let logger: Logger
    private var warned = false

    public init(logger: Logger) { self.logger = logger }

    public func apply(_ plan: NetworkPlan) async throws {
        guard !plan.enforcesRules else { return }
        let rules = plan.groups.reduce(0) { $0 + $1.ingress.count + $1.egress.count }
        if !warned && rules > 0 {
            warned = true
            logger.notice("security group rules are stored but not enforced in this network mode", metadata: ["rules": "\(rules)"])
        }
    }
}
