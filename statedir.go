package strata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ErrStateDirLocked is returned by Run when another instance, in this process
// or another, holds the application's state directory. Give each instance on
// one machine its own Config.StateDir.
var ErrStateDirLocked = errors.New("strata: state directory is locked by another instance")

// stateDir is an application's state directory, locked for one instance.
type stateDir struct {
	path string
	lock *os.File
}

// lockStateDir creates dir if needed and takes an exclusive lock on it.
func lockStateDir(dir string) (*stateDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("strata: create state directory %q: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("strata: state directory %q is not writable: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %q", ErrStateDirLocked, dir)
		}
		return nil, fmt.Errorf("strata: lock state directory %q: %w", dir, err)
	}
	return &stateDir{path: dir, lock: f}, nil
}

func (d *stateDir) unlock() error {
	if d == nil || d.lock == nil {
		return nil
	}
	err := d.lock.Close() // closing releases the flock
	d.lock = nil
	return err
}

// checkpointFile is the name of a task's checkpoint inside its directory.
const checkpointFile = ".checkpoint"

// readCheckpoint returns the changelog offsets a task's checkpoint records,
// by changelog topic. A missing file is an empty checkpoint.
//
// The format is one "topic offset" pair per line after a version line, so a
// person can read it (encodeCheckpoint).
func readCheckpoint(taskDir string) (map[string]int64, error) {
	if taskDir == "" {
		return map[string]int64{}, nil
	}
	path := filepath.Join(taskDir, checkpointFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %q: %w", path, err)
	}
	out, err := parseCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", path, err)
	}
	return out, nil
}

// parseCheckpoint decodes what encodeCheckpoint encoded.
func parseCheckpoint(data []byte) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			if text != "strata-checkpoint 1" {
				return nil, fmt.Errorf("unknown version line %q", text)
			}
			continue
		}
		if text == "" {
			continue
		}
		topic, off, ok := strings.Cut(text, " ")
		n, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("line %d: want \"topic offset\", got %q", line, text)
		}
		out[topic] = n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if line == 0 {
		return nil, errors.New("empty")
	}
	return out, nil
}

// encodeCheckpoint is the text of a checkpoint of offsets: a version line,
// then "topic offset" lines in topic order.
func encodeCheckpoint(offsets map[string]int64) []byte {
	var b bytes.Buffer
	b.WriteString("strata-checkpoint 1\n")
	for _, t := range slices.Sorted(maps.Keys(offsets)) {
		fmt.Fprintf(&b, "%s %d\n", t, offsets[t])
	}
	return b.Bytes()
}

// writeCheckpoint replaces a task's checkpoint atomically.
func writeCheckpoint(taskDir string, offsets map[string]int64) error {
	if taskDir == "" {
		return errors.New("write checkpoint: the task has no state directory")
	}
	if err := os.MkdirAll(taskDir, 0o755); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	path := filepath.Join(taskDir, checkpointFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, encodeCheckpoint(offsets), 0o644); err != nil {
		return fmt.Errorf("write checkpoint %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write checkpoint %q: %w", path, err)
	}
	return nil
}

// removeCheckpoint deletes a task's checkpoint, if any.
func removeCheckpoint(taskDir string) error {
	if taskDir == "" {
		return nil
	}
	err := os.Remove(filepath.Join(taskDir, checkpointFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove checkpoint: %w", err)
	}
	return nil
}
