// Package format holds the byte-level definitions an APK reader and an APK
// builder share: Android binary XML and resource table chunk types, the
// framework attribute ids a manifest is matched by, and the APK Signing
// Block with its chunked content digest. devices/apk reads and verifies
// with them; fixtures/apk writes with them.
package format

// Android binary XML ("AXML") and the resource table are trees of
// little-endian chunks, each starting with {type u16, headerSize u16, size
// u32}; frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h.
const (
	ChunkStringPool = 0x0001
	ChunkTable      = 0x0002
	ChunkXML        = 0x0003
	ChunkStartNS    = 0x0100
	ChunkEndNS      = 0x0101
	ChunkStartElem  = 0x0102
	ChunkEndElem    = 0x0103
	ChunkResMap     = 0x0180
	ChunkPackage    = 0x0200
	ChunkType       = 0x0201
	ChunkTypeSpec   = 0x0202

	ChunkHeaderSize = 8
	// NodeHeaderSize is ResXMLTree_node: chunk header, lineNumber, comment.
	NodeHeaderSize = 16
	PoolHeaderSize = 28
	// AttrSize is one ResXMLTree_attribute: ns, name, rawValue, Res_value.
	AttrSize = 20
	// AttrExtSize is ResXMLTree_attrExt: ns, name, attributeStart,
	// attributeSize, attributeCount, idIndex, classIndex, styleIndex.
	AttrExtSize = 20

	PoolUTF8Flag = 1 << 8
	// NoIndex is the string reference meaning "none" (-1).
	NoIndex = 0xFFFFFFFF

	// Res_value data types.
	TypeReference = 0x01
	TypeString    = 0x03
	TypeIntDec    = 0x10
	TypeIntHex    = 0x11
	TypeIntBool   = 0x12

	AndroidNS = "http://schemas.android.com/apk/res/android"

	ManifestEntry  = "AndroidManifest.xml"
	ResourcesEntry = "resources.arsc"
)

// Resource table layout (ResTable_header, ResTable_package, ResTable_typeSpec,
// ResTable_type).
const (
	TableHeaderSize = 12
	// PackageHeaderSize: chunk header, id, name[128] UTF-16, typeStrings,
	// lastPublicType, keyStrings, lastPublicKey, typeIdOffset.
	PackageHeaderSize  = 8 + 4 + 256 + 5*4
	TypeSpecHeaderSize = 16
	// ConfigSize is ResTable_config as current tools write it; readers
	// honour its own size field, and all-zero fields mean "default".
	ConfigSize     = 64
	TypeHeaderSize = 8 + 4 + 4 + 4 + ConfigSize
	// AppPackageID is the package id apps' own resources live in.
	AppPackageID = 0x7f
	// ResTable_entry flags; ResTable_type flags.
	EntryFlagComplex = 0x0001
	EntryFlagCompact = 0x0008
	TypeFlagSparse   = 0x01
	TypeFlagOffset16 = 0x02
	// NoEntry is an absent entry in a type's offset table.
	NoEntry = 0xFFFFFFFF
)

// Framework attribute resource ids (android.R.attr). Android matches
// manifest attributes by these ids, not by name, so they must be exact.
const (
	AttrLabel       = 0x01010001
	AttrName        = 0x01010003
	AttrHasCode     = 0x0101000c
	AttrEnabled     = 0x0101000e
	AttrExported    = 0x01010010
	AttrTargetAct   = 0x01010202
	AttrMinSDK      = 0x0101020c
	AttrVersionCode = 0x0101021b
	AttrVersionName = 0x0101021c
	AttrTargetSDK   = 0x01010270
)
