@testable import EucaEC2API
import Testing

@Suite struct VersionShapesTests {
    /// A schema of two versions: `tags` came in 2010, `old` went in 2012, `Other` only in 2012.
    let paths = ElementPaths(compact: """
        ListResponse@2009-01-01- requestId set
        ListResponse/set item
        ListResponse/set/item id old@2009-01-01-2012-01-01 tags@2010-01-01- detail
        ListResponse/set/item/tags item
        ListResponse/set/item/tags/item key value
        OtherResponse@2012-01-01- requestId
        """)

    func shaped(_ document: String, _ version: String) -> String {
        String(decoding: VersionShapes.shape(Array(document.utf8), version: version, paths: paths), as: UTF8.self)
    }

    let document = """
        <?xml version="1.0"?>\n<ListResponse xmlns="x"><requestId>r</requestId><set><item><id>1</id><old>o</old>\
        <tags><item><key>k</key><value>v</value></item></tags><detail>d<b>bold</b></detail><new><deep><er/></deep></new>\
        <ext xmlns="e"><any>kept</any></ext></item></set></ListResponse>
        """

    @Test func elementsAVersionDoesNotDefineAreLeftOutWithWhatIsInside() {
        #expect(shaped(document, "2009-06-01") == """
            <?xml version="1.0"?>\n<ListResponse xmlns="x"><requestId>r</requestId><set><item><id>1</id><old>o</old>\
            <detail>d</detail><ext xmlns="e"><any>kept</any></ext></item></set></ListResponse>
            """)
        #expect(shaped(document, "2011-06-01") == """
            <?xml version="1.0"?>\n<ListResponse xmlns="x"><requestId>r</requestId><set><item><id>1</id><old>o</old>\
            <tags><item><key>k</key><value>v</value></item></tags><detail>d</detail><ext xmlns="e"><any>kept</any></ext></item></set></ListResponse>
            """)
        // `old` ends where 2012-01-01 begins.
        #expect(!shaped(document, "2012-01-01").contains("<old>"))
    }

    @Test func anActionTheVersionLacksIsAnsweredWhole() {
        let other = "<OtherResponse><requestId>r</requestId><extra>1</extra></OtherResponse>"
        #expect(shaped(other, "2010-01-01") == other)
        #expect(shaped(other, "2012-06-01") == "<OtherResponse><requestId>r</requestId></OtherResponse>")
        let unknown = "<NobodyResponse><x>1</x></NobodyResponse>"
        #expect(shaped(unknown, "2012-06-01") == unknown)
    }

    @Test func theGeneratedPathsReadAsTheWSDLsSay() {
        let instance = VersionShapes.paths.roots["DescribeInstancesResponse"].map { root -> [String: ElementPaths.Child] in
            let reservations = VersionShapes.paths.nodes[root.node]["reservationSet"]!.node!
            let reservation = VersionShapes.paths.nodes[reservations]["item"]!.node!
            let instances = VersionShapes.paths.nodes[reservation]["instancesSet"]!.node!
            return VersionShapes.paths.nodes[VersionShapes.paths.nodes[instances]["item"]!.node!]
        }
        #expect(instance?["tagSet"]?.versions?.contains("2010-06-15") == false)
        #expect(instance?["tagSet"]?.versions?.contains("2010-08-31") == true)
        #expect(instance?["instanceId"]?.versions == nil)
        #expect(VersionShapes.shapes("2009-11-30") && !VersionShapes.shapes(EC2API.defaultVersion))
    }
}
