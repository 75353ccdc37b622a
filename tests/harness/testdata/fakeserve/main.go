// Command fakeserve imitates `gatehouse serve` for the harness's own tests:
// it becomes ready after a delay, echoes requests and exits 0 on SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: fakeserve serve --http-addr ADDR [--ready-after D] [--fail]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("http-addr", "", "listen address")
	readyAfter := fs.Duration("ready-after", 300*time.Millisecond, "delay before /readyz is 200")
	fail := fs.Bool("fail", false, "exit 3 at once")
	_ = fs.Parse(os.Args[2:])
	if *fail {
		fmt.Println("fakeserve: failing on purpose")
		os.Exit(3)
	}
	var ready atomic.Bool
	time.AfterFunc(*readyAfter, func() { ready.Store(true) })

	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env []string
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "GATEHOUSE_") {
				env = append(env, kv)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "auth": r.Header.Get("Authorization"),
			"content_type": r.Header.Get("Content-Type"), "body": string(body), "env": env,
		})
	})
	srv := &http.Server{Addr: *addr, Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			fmt.Println("fakeserve:", err)
			os.Exit(1)
		}
	}()
	fmt.Println("fakeserve: listening on", *addr)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	fmt.Println("fakeserve: shutting down")
	_ = srv.Shutdown(context.Background())
}
