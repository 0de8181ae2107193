package vms

import "github.com/digitalocean/go-libvirt"

// power is a VM's state as VMware's notifications see it.
type power string

const (
	powerUnknown   power = ""
	powerOn        power = "on"
	powerOff       power = "off"
	powerSuspended power = "suspended"
)

// powerOfState maps virDomainState (DomainGetState) to power.
func powerOfState(s libvirt.DomainState) power {
	switch s {
	case libvirt.DomainRunning, libvirt.DomainBlocked, libvirt.DomainShutdown: // shutting down is still on
		return powerOn
	case libvirt.DomainPaused, libvirt.DomainPmsuspended:
		return powerSuspended
	case libvirt.DomainShutoff, libvirt.DomainCrashed:
		return powerOff
	}
	return powerUnknown
}

// powerOfEvent maps a lifecycle event (virDomainEventType) to the state it
// leaves the VM in; powerUnknown for events that change no power state
// (defined, undefined, and "shutdown", which is followed by "stopped").
func powerOfEvent(e libvirt.DomainEventType) power {
	switch e {
	case libvirt.DomainEventStarted, libvirt.DomainEventResumed:
		return powerOn
	case libvirt.DomainEventSuspended, libvirt.DomainEventPmsuspended:
		return powerSuspended
	case libvirt.DomainEventStopped, libvirt.DomainEventCrashed:
		return powerOff
	}
	return powerUnknown
}

// heartbeat is whether the guest agent is connected.
type heartbeat string

const (
	heartbeatUnknown heartbeat = ""
	heartbeatUp      heartbeat = "up"
	heartbeatDown    heartbeat = "down"
)

// heartbeatOfAgent maps the agent-lifecycle event's state
// (virConnectDomainEventAgentLifecycleState).
func heartbeatOfAgent(state int32) heartbeat {
	switch libvirt.ConnectDomainEventAgentLifecycleState(state) {
	case libvirt.ConnectDomainEventAgentLifecycleStateConnected:
		return heartbeatUp
	case libvirt.ConnectDomainEventAgentLifecycleStateDisconnected:
		return heartbeatDown
	}
	return heartbeatUnknown
}
