package agentx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one connection to the master: a reader goroutine that serves the
// master's requests in order and hands the answers to our own requests to
// the goroutine waiting in call.
type conn struct {
	a    *Subagent
	nc   net.Conn
	log  *slog.Logger
	sess atomic.Uint32
	ids  atomic.Uint32 // h.packetID of our requests

	wmu sync.Mutex // one PDU at a time on the socket

	mu      sync.Mutex
	pending map[uint32]chan *pdu // by h.packetID

	dead    chan struct{} // closed when the reader stops
	deadErr error         // set before dead is closed
}

func dial(ctx context.Context, a *Subagent) (*conn, error) {
	d := net.Dialer{Timeout: callTimeout}
	nc, err := d.DialContext(ctx, a.opts.Network, a.opts.Address)
	if err != nil {
		return nil, fmt.Errorf("agentx connect: %w", err)
	}
	c := &conn{a: a, nc: nc, log: a.log, pending: map[uint32]chan *pdu{}, dead: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *conn) setSession(id uint32) { c.sess.Store(id) }
func (c *conn) sessionID() uint32    { return c.sess.Load() }

// deathCause is why the reader stopped; only valid once dead is closed.
func (c *conn) deathCause() error { return c.deadErr }

// shutdown closes the socket and waits for the reader to stop.
func (c *conn) shutdown() {
	_ = c.nc.Close()
	<-c.dead
}

// close sends a Close-PDU and waits (briefly) for the master's answer, so
// that it unregisters the subtrees at once rather than when it notices the
// socket closed.
func (c *conn) close(ctx context.Context, reason uint8) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := c.call(ctx, &pdu{header: header{Type: typeClose}, Reason: reason}); err != nil {
		c.log.Debug("agentx close unanswered", "err", err)
	}
}

func (c *conn) write(p *pdu) error {
	b, err := p.encode()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(callTimeout))
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("agentx write %s: %w", p.Type, err)
	}
	return nil
}

// call sends one of our requests and waits for the master's Response.
func (c *conn) call(ctx context.Context, p *pdu) (*pdu, error) {
	p.SessionID = c.sessionID()
	p.PacketID = c.ids.Add(1)
	p.TransactionID = p.PacketID
	ch := make(chan *pdu, 1)
	c.mu.Lock()
	c.pending[p.PacketID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, p.PacketID)
		c.mu.Unlock()
	}()
	if err := c.write(p); err != nil {
		return nil, err
	}
	t := time.NewTimer(callTimeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return res, nil
	case <-c.dead:
		return nil, c.deadErr
	case <-t.C:
		return nil, fmt.Errorf("no answer to %s within %v", p.Type, callTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readLoop reads PDUs until the socket fails. The framing is the header's
// payload_length read with io.ReadFull through one buffered reader for the
// life of the connection, so no byte is lost between PDUs.
func (c *conn) readLoop() {
	err := c.readPDUs()
	c.deadErr = err
	close(c.dead)
}

func (c *conn) readPDUs() error {
	r := bufio.NewReaderSize(c.nc, 64<<10)
	hb := make([]byte, headerLen)
	var payload []byte
	for {
		if _, err := io.ReadFull(r, hb); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("agentx: master closed the connection")
			}
			return fmt.Errorf("agentx read: %w", err)
		}
		h, err := decodeHeader(hb)
		if err != nil {
			// Framing cannot be trusted any more: end the connection.
			c.sendClose(reasonParseError)
			return err
		}
		if cap(payload) < int(h.PayloadLength) {
			payload = make([]byte, h.PayloadLength)
		}
		payload = payload[:h.PayloadLength]
		if _, err := io.ReadFull(r, payload); err != nil {
			return fmt.Errorf("agentx read %s payload of %d bytes: %w", h.Type, h.PayloadLength, err)
		}
		p, err := decodePDU(h, payload)
		switch h.Type {
		case typeResponse:
			if err != nil {
				c.log.Warn("agentx: bad response from master", "err", err)
				continue // the caller's wait times out and names the request
			}
			c.mu.Lock()
			ch := c.pending[h.PacketID]
			c.mu.Unlock()
			if ch == nil {
				c.log.Debug("agentx: response to no request of ours", "packet", h.PacketID)
				continue
			}
			select {
			case ch <- p:
			default: // a duplicate answer
			}
		case typeClose:
			if err == nil {
				// The master ends the session (e.g. snmpd shutting down).
				return fmt.Errorf("agentx: master closed the session (reason %d)", p.Reason)
			}
			return fmt.Errorf("agentx: malformed Close from master: %w", err)
		default:
			if res := c.serve(p, err); res != nil {
				if err := c.write(res); err != nil {
					return err
				}
			}
		}
	}
}

// sendClose tells the master why we hang up, without waiting for an answer.
func (c *conn) sendClose(reason uint8) {
	_ = c.write(&pdu{header: header{Type: typeClose, SessionID: c.sessionID()}, Reason: reason})
}
