package settings

import "strconv"

// systemValidators are the validators of the system settings the harness
// and the Settings app write (Android 10 Settings.System.VALIDATORS, from
// Android 11 on SystemSettingsValidators.VALIDATORS; the same rules in
// both): a key without one takes any value.
var systemValidators = map[string]func(string) bool{
	// SCREEN_OFF_TIMEOUT: NON_NEGATIVE_INTEGER_VALIDATOR.
	"screen_off_timeout": func(v string) bool { n, ok := javaInt(v); return ok && n >= 0 },
	// SCREEN_BRIGHTNESS: InclusiveIntegerRangeValidator(0, 255).
	"screen_brightness": func(v string) bool { n, ok := javaInt(v); return ok && n >= 0 && n <= 255 },
	// SCREEN_BRIGHTNESS_MODE: DiscreteValueValidator {"0", "1"}.
	"screen_brightness_mode": boolean,
	// ACCELEROMETER_ROTATION, HAPTIC_FEEDBACK_ENABLED: BOOLEAN_VALIDATOR.
	"accelerometer_rotation":  boolean,
	"haptic_feedback_enabled": boolean,
	// FONT_SCALE: a float of at least 0.
	"font_scale": func(v string) bool { f, err := strconv.ParseFloat(v, 32); return err == nil && f >= 0 },
}

// validSystem says whether the system setting key may take value.
func validSystem(key, value string) bool {
	ok, has := systemValidators[key]
	return !has || ok(value)
}

// boolean is BOOLEAN_VALIDATOR: "0" or "1".
func boolean(v string) bool { return v == "0" || v == "1" }

// javaInt is Integer.parseInt: an optional sign and decimal digits that fit
// in 32 bits.
func javaInt(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 32)
	return n, err == nil
}
