package mitm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"telltale.dev/harness/capture"
)

// maxWait bounds a long-poll on /flows so a forgotten client cannot hold a
// request open for ever.
const maxWait = 5 * time.Minute

// ControlHandler serves the control API:
//
//	GET  /healthz              200 "ok"
//	GET  /ca.pem               the CA certificate
//	GET  /flows?since=N&wait=D records with seq > N as JSON lines; with wait,
//	                           blocks up to D until there is at least one
//	                           or the proxy has stopped
//	POST /marks {"name":...}   appends a mark, answers the mark record
//	POST /apps {"uid":N,"package":...}
//	                           opens the app's own listener (OpenApp),
//	                           answers {"uid","package","socket"}
//	GET  /stats                counters as JSON
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(s.cfg.CA.CertPEM())
	})
	mux.HandleFunc("GET /flows", s.serveFlows)
	mux.HandleFunc("POST /marks", s.serveMark)
	mux.HandleFunc("POST /apps", s.serveApp)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	return mux
}

func (s *Server) serveFlows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since int64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("since=%q: want a non-negative integer seq", v), http.StatusBadRequest)
			return
		}
		since = n
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			http.Error(w, fmt.Sprintf("wait=%q: want a duration such as 10s", v), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(d, maxWait))
		// A proxy that has stopped records nothing more: answer with
		// what there is, so the control server can stop too.
		unhook := context.AfterFunc(s.base, cancel)
		s.cfg.Log.Wait(ctx, since) // a timeout just means: nothing new
		unhook()
		cancel()
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if _, err := s.cfg.Log.CopySince(w, since); err != nil {
		s.log.Warn("serving flows", "err", err)
	}
}

func (s *Server) serveMark(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		http.Error(w, `body must be JSON {"name":"..."}: `+err.Error(), http.StatusBadRequest)
		return
	}
	f, err := s.Mark(body.Name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// AppListener is the answer of POST /apps: the app and the Unix socket
// (as the proxy sees it) its connections are to be sent to.
type AppListener struct {
	capture.App
	Socket string `json:"socket"`
}

func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) {
	var app capture.App
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&app); err != nil {
		http.Error(w, `body must be JSON {"uid":10123,"package":"..."}: `+err.Error(), http.StatusBadRequest)
		return
	}
	path, err := s.OpenApp(app)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, AppListener{App: app, Socket: path})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
