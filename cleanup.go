package strata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CleanUp deletes an application's local state on this machine, the
// directory "<stateDir>/<applicationID>" (stateDir "" is Config.StateDir's
// default), as Kafka Streams' KafkaStreams.cleanUp() does: the tasks'
// stores and checkpoints, which their next start restores from the
// changelogs. It fails with an error wrapping ErrStateDirLocked while an
// instance holds the directory, and does nothing when there is none. The
// `strata reset` command calls it with --state-dir.
func CleanUp(stateDir, applicationID string) error {
	if err := checkTopicName(applicationID, 200); applicationID == "" || err != nil {
		return fmt.Errorf("%w: ApplicationID: %q is not an application ID", ErrInvalidConfig, applicationID)
	}
	if stateDir == "" {
		stateDir = defaultStateDir()
	}
	dir := filepath.Join(stateDir, applicationID)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	d, err := lockStateDir(dir)
	if err != nil {
		return err
	}
	// The lock is held while the directory goes: an instance starting
	// meanwhile waits for nothing but finds no state.
	err = os.RemoveAll(dir)
	if uerr := d.unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("strata: clean up state directory %q: %w", dir, err)
	}
	return nil
}
