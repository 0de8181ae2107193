//go:build !linux

package configwatch

import (
	"errors"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// watchDir watches dir with fsnotify, which reports no close of a writer on
// every platform: a change is complete once the debounce period is quiet.
func watchDir(dir string, events chan<- event, errs chan<- error) (func() error, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(events)
		for {
			select {
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				// Chmod alone is skipped: it changes no setting.
				if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) &&
					!ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Remove) {
					continue
				}
				select {
				case events <- event{name: filepath.Base(ev.Name), op: opChanged}:
				case <-done:
					return
				}
			case err, ok := <-fw.Errors:
				if !ok {
					return
				}
				if errors.Is(err, fsnotify.ErrEventOverflow) {
					err = errOverflow
				}
				select {
				case errs <- err:
				default:
				}
			}
		}
	}()
	return func() error {
		select {
		case <-done:
			return nil
		default:
		}
		close(done)
		return fw.Close()
	}, nil
}
