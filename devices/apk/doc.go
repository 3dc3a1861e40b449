// Package apk reads APKs and checks them the way Android's package manager
// does before it installs one.
//
// ReadManifest decodes AndroidManifest.xml (binary XML, UTF-8 or UTF-16
// string pools, labels resolved through resources.arsc): package, version,
// SDK levels, label, android:hasCode, split name, and the activities with
// their intent filters (LaunchActivity is the MAIN/LAUNCHER one). It
// verifies nothing.
//
// Verify is what a phone's package manager runs between `pm install` (or a
// session's commit) and "Success", for a given API level: APK Signature
// Scheme v3, else v2, else JAR signing (only a missing block falls through
// to the older scheme), then the manifest checks of the lite parse, the
// full parse (minSdkVersion, Android 12's explicit android:exported,
// Android 11's uncompressed resources.arsc) and the scan (Android 11's v2
// requirement for apps targeting 30+). A refusal is an *InstallError whose
// Error() is what `pm install` prints inside "Failure [...]", worded as
// that Android version words it; CheckUpdate is the signer check an update
// must pass. The texts come from AOSP frameworks/base (PackageParser,
// ApkLiteParseUtils, ApkSignatureVerifier, ApkSignatureSchemeV2Verifier,
// StrictJarVerifier, PackageManagerService) and agree with what users of
// real phones report; the tests hold the verdicts to Debian's apksigner.
//
// Where no source says, the behaviour is modeled and marked so in the code
// (e.g. the StrictJarFile identity hash in v1 messages, DSA and verity
// signatures, v3 key rotation lineage).
package apk
