package telemetry

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/protocols"
)

// Source is the phone as the engine sees it.
type Source interface {
	// Setting returns a settings value ("" and false when unset), for
	// rules that report only under a setting.
	Setting(ns, key string) (string, bool)
	// Network says whether Wi-Fi is connected and to which SSID.
	Network() (wifi bool, ssid string)
}

// Identity is how the phone's events identify it.
type Identity struct {
	Serial      string
	Device      string // ro.product.device
	Model       string // ro.product.model
	Brand       string
	MIUIVersion string
	Android     string
	AndroidID   string
	IMEI        string
	// AppVersions gives preinstalled app versions for $app_version.
	AppVersions map[string]string
}

// Config sets up an Engine.
type Config struct {
	Rules  *RuleSet // nil: the phone sends nothing
	Source Source
	// Net is how the phone's apps reach the network.
	Net Net
	// Clock stamps and paces events (default: the real clock).
	Clock    clock.Clock
	Identity Identity
	Truth    *Truth
	Logger   *slog.Logger
	// NoiseOff stops background requests (tests that count requests).
	NoiseOff bool
	// Timeout bounds each delivery, key exchange included (default 10s).
	Timeout time.Duration
	// QueueSize bounds events waiting to be sent (default 256); more are
	// recorded as undelivered with reason queue-full.
	QueueSize int
}

type item struct {
	rule Rule
	occ  Occurrence
	at   time.Time
}

// Engine turns occurrences into telemetry requests and sends them in the
// background.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	queue  chan item
	cancel context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup

	// pending counts events queued or being sent; idle is closed whenever
	// it is zero, so Flush can wait without polling.
	pendMu  sync.Mutex
	pending int
	idle    chan struct{}

	keyMu sync.Mutex
	key   []byte
	sid   string
}

// Start begins sending; Close stops it.
func Start(cfg Config) *Engine {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{cfg: cfg, log: log, queue: make(chan item, cfg.QueueSize), ctx: ctx, cancel: cancel, idle: make(chan struct{})}
	close(e.idle)
	// Two senders keep a slow key exchange from holding up other events
	// while keeping order roughly as the actions happened.
	for range 2 {
		e.wg.Add(1)
		go e.worker()
	}
	if cfg.Rules != nil && !cfg.NoiseOff {
		for _, n := range cfg.Rules.Noise {
			e.wg.Add(1)
			go e.noise(n)
		}
	}
	return e
}

// Observe queues the events the firmware's rules make for o; it never blocks.
func (e *Engine) Observe(o Occurrence) {
	if e.cfg.Rules == nil {
		return
	}
	for _, r := range e.cfg.Rules.Rules {
		if r.Action != o.Action || slices.Contains(r.SkipKeys, o.Values["key"]) || !e.holds(r.When) {
			continue
		}
		e.enqueue(item{rule: r, occ: o, at: e.cfg.Clock.Now()})
	}
}

func (e *Engine) holds(when string) bool {
	if when == "" {
		return true
	}
	ns, key, want, err := parseWhen(when)
	if err != nil {
		return false // checked at load time
	}
	v, _ := e.cfg.Source.Setting(ns, key)
	return v == want
}

func (e *Engine) enqueue(it item) {
	if e.ctx.Err() != nil {
		e.record(it, 0, &SendError{Reason: "closed", Err: e.ctx.Err()})
		return
	}
	e.addPending(1)
	select {
	case e.queue <- it:
	default:
		e.addPending(-1)
		e.record(it, 0, &SendError{Reason: "queue-full", Err: fmt.Errorf("%d events already waiting", cap(e.queue))})
	}
}

func (e *Engine) worker() {
	defer e.wg.Done()
	for {
		select {
		case <-e.ctx.Done():
			return
		case it := <-e.queue:
			status, err := e.send(it)
			e.record(it, status, err)
			e.addPending(-1)
		}
	}
}

func (e *Engine) noise(n Noise) {
	defer e.wg.Done()
	t := e.cfg.Clock.NewTimer(time.Duration(n.Every))
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C():
			e.enqueue(item{rule: n.Rule, occ: Occurrence{App: n.App, Values: map[string]string{}}, at: e.cfg.Clock.Now()})
			t.Reset(time.Duration(n.Every))
		}
	}
}

func (e *Engine) addPending(n int) {
	e.pendMu.Lock()
	defer e.pendMu.Unlock()
	if e.pending == 0 && n > 0 {
		e.idle = make(chan struct{})
	}
	e.pending += n
	if e.pending == 0 {
		close(e.idle)
	}
}

// Flush waits until every queued event has been sent or given up on.
func (e *Engine) Flush(ctx context.Context) error {
	e.pendMu.Lock()
	idle := e.idle
	e.pendMu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		e.pendMu.Lock()
		n := e.pending
		e.pendMu.Unlock()
		return fmt.Errorf("telemetry flush: %d events still pending: %w", n, ctx.Err())
	}
}

// Close stops sending; events still queued are recorded as undelivered.
func (e *Engine) Close() {
	e.cancel()
	e.wg.Wait()
	for {
		select {
		case it := <-e.queue:
			e.record(it, 0, &SendError{Reason: "closed", Err: context.Canceled})
			e.addPending(-1)
		default:
			return
		}
	}
}

func (e *Engine) record(it item, status int, err error) {
	vals := map[string]string{}
	for _, v := range it.rule.Values {
		name, _, _ := strings.Cut(v, ":")
		if s := it.occ.Values[name]; s != "" {
			vals[name] = s
		}
	}
	r := Record{Time: it.at.UTC(), Serial: e.cfg.Identity.Serial, Host: it.rule.Host, Path: it.rule.Path,
		Format: it.rule.Format, Event: it.rule.Event, Action: it.occ.Action, Values: vals, Delivered: err == nil, Status: status}
	if err != nil {
		r.Reason = reason(err)
		e.log.Debug("telemetry not delivered", "event", r.Event, "host", r.Host, "err", err)
	}
	if werr := e.cfg.Truth.Write(r); werr != nil {
		e.log.Warn("ground-truth log write failed", "err", werr)
	}
}

func (e *Engine) send(it item) (int, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.Timeout)
	defer cancel()
	r := it.rule
	switch r.Format {
	case FormatOneTrack:
		return e.sendOneTrack(ctx, it)
	case FormatConfig:
		q := url.Values{"app_id": {e.app(it)}, "device": {e.cfg.Identity.Device}, "miui_version": {e.cfg.Identity.MIUIVersion},
			"android": {e.cfg.Identity.Android}, "r": {"INTL"}, "l": {"en_US"}}
		req, err := newRequest(ctx, http.MethodGet, r.Host, r.Path+sep(r.Path)+q.Encode(), nil)
		if err != nil {
			return 0, err
		}
		return e.do(ctx, req, r)
	}
	var body []byte
	var err error
	headers := http.Header{}
	switch r.Format {
	case FormatSA:
		ev := e.saEvent(it)
		ev["_flush_time"] = e.cfg.Clock.Now().UnixMilli()
		body, err = protocols.EncodeSA([]map[string]any{ev})
		headers.Set("Content-Type", "application/x-www-form-urlencoded")
	case FormatJSONGzip:
		body, err = json.Marshal(e.flatEvent(it, imeiMD5))
		body = protocols.Gzip(body)
		headers.Set("Content-Type", "application/json; charset=utf-8")
		headers.Set("Content-Encoding", "gzip")
	case FormatMistat:
		body, err = json.Marshal(e.flatEvent(it, imeiNone))
		headers.Set("Content-Type", "application/json; charset=utf-8")
	case FormatTrackV1:
		aid := sha1.Sum([]byte(e.cfg.Identity.AndroidID))
		form := url.Values{"_ei_": {r.Event}, "_mod_": {e.cfg.Identity.Device}, "_et_": {"1"},
			"_ev_": {strconv.FormatInt(it.at.UnixMilli(), 10)}, "_app_": {e.app(it)}, "imei": {md5hex(e.cfg.Identity.IMEI)},
			"_miuiver_": {e.cfg.Identity.MIUIVersion}, "_di_": {hex.EncodeToString(aid[:])}, "_logs_": {"[]"}}
		body = []byte(form.Encode())
		headers.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err != nil {
		return 0, err
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := newRequest(ctx, method, r.Host, r.Path, body)
	if err != nil {
		return 0, err
	}
	copyHeader(req.Header, headers)
	return e.do(ctx, req, r)
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

func (e *Engine) do(ctx context.Context, req *http.Request, r Rule) (int, error) {
	req.Header.Set("User-Agent", "Dalvik/2.1.0 (Linux; U; Android "+e.cfg.Identity.Android+"; "+e.cfg.Identity.Model+" MIUI/"+e.cfg.Identity.MIUIVersion+")")
	status, _, err := Do(ctx, e.cfg.Net, req, r.UserCA)
	return status, err
}

func (e *Engine) app(it item) string {
	if it.rule.App != "" {
		return it.rule.App
	}
	return it.occ.App
}

// values returns the rule's values from the occurrence, typed as the rule says.
func (e *Engine) values(it item) map[string]any {
	out := map[string]any{}
	for _, v := range it.rule.Values {
		name, typ, _ := strings.Cut(v, ":")
		s := it.occ.Values[name]
		if n, err := strconv.Atoi(s); typ == "int" && err == nil {
			out[name] = n
		} else {
			out[name] = s
		}
	}
	for _, g := range it.rule.Generated {
		switch g {
		case "duration":
			out[g] = 1000 + randInt(59000)
		case "start":
			out[g] = it.at.UnixMilli()
		}
	}
	return out
}

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0
	}
	return v.Int64()
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func (e *Engine) network() (bool, string) {
	wifi, _ := e.cfg.Source.Network()
	if wifi {
		return true, "WIFI"
	}
	return false, "4G"
}

// saEvent builds a Sensors Analytics track event with the SDK's preset properties.
func (e *Engine) saEvent(it item) map[string]any {
	id := e.cfg.Identity
	app := e.app(it)
	wifi, nettype := e.network()
	props := map[string]any{
		"$os": "Android", "$os_version": id.Android, "$manufacturer": "Xiaomi", "$model": id.Model,
		"$brand": id.Brand, "$app_version": id.AppVersions[app], "$screen_width": 1080, "$screen_height": 2340,
		"$carrier": "", "$device_id": id.AndroidID, "$timezone_offset": 0, "$app_id": app, "$app_name": app,
		"$wifi": wifi, "$network_type": nettype, "$is_first_day": false, "miui_version": id.MIUIVersion,
	}
	for k, v := range e.values(it) {
		props[k] = v
	}
	return map[string]any{
		"_track_id": randInt(1 << 31), "time": it.at.UnixMilli(), "type": "track",
		"distinct_id": id.AndroidID, "anonymous_id": id.AndroidID, "login_id": "", "event": it.rule.Event,
		"lib":        map[string]any{"$lib": "Android", "$lib_version": "4.4.6", "$app_version": id.AppVersions[app], "$lib_method": "code"},
		"properties": props,
	}
}

// How a flat event carries the IMEI: OneTrack sends it as is, the security
// center as an MD5, mistat not at all.
const (
	imeiPlain = iota
	imeiMD5
	imeiNone
)

// flatEvent is the JSON of mistat, api.sec and OneTrack events: identifiers
// and values side by side.
func (e *Engine) flatEvent(it item, imei int) map[string]any {
	id := e.cfg.Identity
	ev := map[string]any{
		"event": it.rule.Event, "app_id": e.app(it), "device_id": id.AndroidID, "model": id.Model,
		"device": id.Device, "miui_version": id.MIUIVersion, "android_version": id.Android, "region": "INTL",
		"ts": it.at.UnixMilli(),
	}
	switch imei {
	case imeiPlain:
		ev["imei"] = id.IMEI
	case imeiMD5:
		ev["imei_md5"] = md5hex(id.IMEI)
	}
	for k, v := range e.values(it) {
		ev[k] = v
	}
	return ev
}

// sendOneTrack fetches a key if it has none, then uploads; a -3 reply (key
// expired) fetches a new key once.
func (e *Engine) sendOneTrack(ctx context.Context, it item) (int, error) {
	for attempt := 0; ; attempt++ {
		key, sid, err := e.oneTrackKey(ctx, it, attempt > 0)
		if err != nil {
			return 0, err
		}
		body, err := protocols.SealOneTrack(key, []map[string]any{e.flatEvent(it, imeiPlain)})
		if err != nil {
			return 0, err
		}
		req, err := newRequest(ctx, http.MethodPost, it.rule.Host, it.rule.Path, body)
		if err != nil {
			return 0, err
		}
		_, net := e.network()
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set(protocols.OneTrackHeaderSID, sid)
		req.Header.Set(protocols.OneTrackHeaderTime, strconv.FormatInt(e.cfg.Clock.Now().UnixMilli(), 10))
		req.Header.Set(protocols.OneTrackHeaderNet, net)
		req.Header.Set(protocols.OneTrackHeaderSender, e.app(it))
		req.Header.Set(protocols.OneTrackHeaderProtocol, protocols.OneTrackProtocol)
		req.Header.Set("User-Agent", "Dalvik/2.1.0 (Linux; U; Android "+e.cfg.Identity.Android+")")
		status, reply, err := Do(ctx, e.cfg.Net, req, it.rule.UserCA)
		if err != nil {
			return status, err
		}
		var r struct {
			Code int `json:"code"`
		}
		if json.Unmarshal(reply, &r) == nil && r.Code == -3 && attempt == 0 {
			continue
		}
		return status, nil
	}
}

func (e *Engine) oneTrackKey(ctx context.Context, it item, renew bool) ([]byte, string, error) {
	e.keyMu.Lock()
	defer e.keyMu.Unlock()
	if e.key != nil && !renew {
		return e.key, e.sid, nil
	}
	// The real SDK RSA-encrypts a key it made; the simulated server answers
	// with the key to use, so what is sent here only has to look the part.
	secret := make([]byte, 128)
	_, _ = rand.Read(secret)
	sk := base64.StdEncoding.EncodeToString(secret)
	form := url.Values{"secretKey": {sk}, "sign": {md5hex(sk + e.cfg.Identity.AndroidID)}}
	req, err := newRequest(ctx, http.MethodPost, it.rule.Host, protocols.OneTrackKeyPath, []byte(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, reply, err := Do(ctx, e.cfg.Net, req, it.rule.UserCA)
	if err != nil {
		return nil, "", err
	}
	key, sid, err := protocols.ParseOneTrackKeyReply(reply)
	if err != nil {
		return nil, "", &SendError{Reason: "key", Err: err}
	}
	e.key, e.sid = key, sid
	return key, sid, nil
}
