public import EucaCore
public import EucaSecurity
import Foundation
import Synchronization

extension CloudController {
    // MARK: - Images

    /// Images visible to `principal`: its own and public ones.
    public func images(for principal: Principal) -> [ImageRecord] {
        state.read { tables in
            tables.images.values.filter { $0.ownerId == principal.accountId || $0.isPublic }
        }.sorted { $0.id < $1.id }
    }

    /// The account id that owns the cloud (whose images are `amazon`-like system images).
    public var adminAccountId: AccountID? { state.read { $0.cloud?.adminAccountId } }

}
