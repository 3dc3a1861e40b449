package sim

// adbdFeatures are the features the phone's adbd advertises in its CNXN
// banner, as AOSP adb's supported_features() lists them, less those
// this phone's adbd does not serve: Android 10 (adb/transport.cpp,
// android-10) has shell_v2, cmd, stat_v2, ls_v2, fixed_push_mkdir, apex,
// abb, fixed_push_symlink_timestamp, abb_exec and remount_shell. Android 11
// adds track_app and the sendrecv_v2 family (compressed SEND/RECV), and 12
// delayed_ack; the transport serves neither the track-app service, SND2 and
// RCV2, nor delayed acks, so a client told of them would fail. They are left
// out (modeled) until it does, which makes every release's list Android
// 10's.
var adbdFeatures = []string{"shell_v2", "cmd", "stat_v2", "ls_v2", "fixed_push_mkdir", "apex", "abb",
	"fixed_push_symlink_timestamp", "abb_exec", "remount_shell"}
