// Driver runs one ddmlib operation against a device behind the adb server
// named by ANDROID_ADB_SERVER_PORT and prints its outcome on stdout;
// ddmlib's own log goes to stderr. Usage: Driver SERIAL COMMAND ARGS...
//   screenshot              -> "null" or "version=V bpp=B width=W height=H sha256=HEX"
//   shell CMD               -> the command's output
//   install APK             -> "installed" or "InstallException: MESSAGE"
//   install-multiple APK... -> the same, through a split install session
import com.android.ddmlib.AndroidDebugBridge;
import com.android.ddmlib.CollectingOutputReceiver;
import com.android.ddmlib.IDevice;
import com.android.ddmlib.InstallException;
import com.android.ddmlib.Log;
import com.android.ddmlib.RawImage;
import java.io.File;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

public class Driver {
    public static void main(String[] args) throws Exception {
        Log.setLogOutput(new Log.ILogOutput() {
            public void printLog(Log.LogLevel level, String tag, String message) {
                System.err.println("LOG " + level + " " + tag + ": " + message);
            }
            public void printAndPromptLog(Log.LogLevel level, String tag, String message) {
                printLog(level, tag, message);
            }
        });
        String serial = args[0];
        String command = args[1];
        // Client support makes the device monitor follow track-jdwp, as
        // Android Studio's does.
        AndroidDebugBridge.init(true);
        AndroidDebugBridge bridge = AndroidDebugBridge.createBridge();
        try {
            IDevice device = waitForDevice(bridge, serial);
            run(device, command, args);
        } finally {
            AndroidDebugBridge.terminate();
        }
        System.exit(0);
    }

    static IDevice waitForDevice(AndroidDebugBridge bridge, String serial) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            for (IDevice d : bridge.getDevices()) {
                if (d.getSerialNumber().equals(serial) && d.isOnline()) {
                    return d;
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("device " + serial + " did not come online within 60 s");
    }

    static void run(IDevice device, String command, String[] args) throws Exception {
        switch (command) {
            case "screenshot": {
                RawImage img = device.getScreenshot(30, TimeUnit.SECONDS);
                if (img == null) {
                    System.out.println("null");
                    return;
                }
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                StringBuilder hex = new StringBuilder();
                for (byte b : sha.digest(img.data)) {
                    hex.append(String.format("%02x", b));
                }
                System.out.println("version=" + img.version + " bpp=" + img.bpp + " width=" + img.width
                        + " height=" + img.height + " sha256=" + hex);
                return;
            }
            case "shell": {
                CollectingOutputReceiver out = new CollectingOutputReceiver();
                device.executeShellCommand(args[2], out, 30, TimeUnit.SECONDS);
                System.out.print(out.getOutput());
                return;
            }
            case "install":
            case "install-multiple": {
                try {
                    if (command.equals("install")) {
                        device.installPackage(args[2], true);
                    } else {
                        List<File> apks = new ArrayList<>();
                        for (int i = 2; i < args.length; i++) {
                            apks.add(new File(args[i]));
                        }
                        device.installPackages(apks, true, new ArrayList<String>(), 60, TimeUnit.SECONDS);
                    }
                    System.out.println("installed");
                } catch (InstallException e) {
                    System.out.println("InstallException: " + e.getMessage());
                }
                return;
            }
            default:
                throw new IllegalArgumentException("unknown command " + command);
        }
    }
}
