// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "wsc",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "wsc", targets: ["wsc"]),
    .library(name: "WebSocketProtocol", targets: ["WebSocketProtocol"]),
    .library(name: "WebSocketClient", targets: ["WebSocketClient"]),
    .library(name: "WebSocketDeflate", targets: ["WebSocketDeflate"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    .target(name: "WebSocketProtocol"),
    .systemLibrary(
      name: "COpenSSL",
      pkgConfig: "openssl",
      providers: [.apt(["libssl-dev"])]
    ),
    .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .target(name: "WebSocketDeflate", dependencies: ["WebSocketProtocol", "CZlib"]),
    // ppoll() for the I/O threads' wake-up signal and getrandom() for masking keys (issue
    // 17): Linux calls that Swift's Glibc module hides.
    .target(name: "CSystemCalls"),
    .target(name: "WebSocketClient", dependencies: ["WebSocketProtocol", "COpenSSL", "CSystemCalls"]),
    .executableTarget(
      name: "wsc",
      dependencies: [
        "WebSocketClient",
        "WebSocketDeflate",
        "WebSocketProtocol",
        "CEditLine",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(name: "WebSocketProtocolTests", dependencies: ["WebSocketProtocol"]),
    .testTarget(name: "WebSocketClientTests", dependencies: ["WebSocketClient"]),
    .testTarget(
      name: "WebSocketDeflateTests", dependencies: ["WebSocketDeflate", "WebSocketProtocol", "CZlib"]),
  ],
  swiftLanguageModes: [.v6]
)

// libFuzzer targets (issue 15), only when scripts/fuzz.sh asks for them (WSC_FUZZ=1):
// a normal build, test or release never sees them. Each is built with
// -sanitize=fuzzer,address on the command line; -parse-as-library because libFuzzer
// provides main and calls LLVMFuzzerTestOneInput.
if Context.environment["WSC_FUZZ"] != nil {
  package.targets.append(
    .target(
      name: "FuzzSupport", dependencies: ["WebSocketProtocol", "WebSocketDeflate"], path: "Fuzz/FuzzSupport"))
  for name in [
    "FuzzFrameClient", "FuzzFrameServer", "FuzzClientHandshake", "FuzzServerHandshake", "FuzzExtensionHeader",
    "FuzzURI",
  ] {
    package.targets.append(
      .executableTarget(
        name: name, dependencies: ["FuzzSupport", "WebSocketProtocol", "WebSocketDeflate"],
        path: "Fuzz/\(name)",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
  }
}
