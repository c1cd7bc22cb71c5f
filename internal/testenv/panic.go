package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/mapper"
)

// PanicService is a test-only service that panics where its spec says:
// {"in": "check"} in Check (so inside the submitting HTTP handler),
// {"in": "run"} in Run, {"in": "helper"} on a goroutine of a mapper pool
// during Run, as a fault in the native fit engine would; {"in": "none"}
// completes. Tests register it through controller.Config.ExtraServices;
// no production build can reach it.
type PanicService struct{}

// Name implements service.Service.
func (PanicService) Name() string { return "panic" }

type panicSpec struct {
	In       string `json:"in"`
	OutputMB int    `json:"output_mb"`
}

func (PanicService) spec(raw json.RawMessage) (panicSpec, error) {
	var s panicSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("spec: %v", err)
	}
	return s, nil
}

// Check implements service.Service.
func (p PanicService) Check(raw json.RawMessage, _ string) error {
	s, err := p.spec(raw)
	if s.In == "check" {
		panic("test panic in Check")
	}
	return err
}

// Run implements service.Service.
func (p PanicService) Run(ctx context.Context, env *service.Env) (json.RawMessage, error) {
	s, _ := p.spec(env.Spec)
	switch s.In {
	case "run":
		panic("test panic in Run")
	case "helper":
		pool := mapper.NewPool(2)
		defer pool.Close()
		helperRan := make(chan struct{})
		var once sync.Once
		pool.Map(ctx, 64, func(worker, _ int) {
			if worker == 0 { // leave the points to the helper
				<-helperRan
				return
			}
			once.Do(func() { close(helperRan) })
			panic("test panic on a mapper helper")
		})
	}
	if s.OutputMB > 0 {
		if err := os.WriteFile(filepath.Join(env.Output, "big.dat"), make([]byte, s.OutputMB<<20), 0o644); err != nil {
			return nil, err
		}
	}
	return json.RawMessage(`{"ok": true}`), nil
}
