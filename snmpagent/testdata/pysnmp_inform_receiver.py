# An SNMPv3 inform receiver built on pysnmp (Debian python3-pysnmp4), the
# second SNMPv3 implementation the agent's informs are checked with. For
# informs the receiver is the authoritative engine (RFC 3414 1.5.1): its
# engine ID is set here so that the test can give it in remoteusers, and
# its users' keys are localized by pysnmp from the passwords to that engine
# ID, independently of the agent's own key localization.
# argv: the receiver's engine ID (hex), then users as
# name:auth:authpass:priv:privpass (auth/priv "none" for none).
# Prints "PORT <n>" once listening, then one line per notification, after
# pysnmp has sent the Response to an inform, its fields separated by tabs
# (values may hold spaces):
# "NOTIFY <user> <pdu> <securityLevel> <oid>=<value> ..." with numeric OIDs
# (pdu InformRequestPDU or SNMPv2TrapPDU, securityLevel 1 noAuthNoPriv,
# 2 authNoPriv, 3 authPriv), and one line per message its USM refused:
# "REFUSED <user> <errorIndication class> <counter oid>", e.g.
# "REFUSED intruder AuthenticationFailure 1.3.6.1.6.3.15.1.1.5.0".
import sys

from pysnmp.carrier.asyncore.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import rfc1902

AUTH = {
    "none": config.usmNoAuthProtocol,
    "SHA1": config.usmHMACSHAAuthProtocol,
    "SHA224": config.usmHMAC128SHA224AuthProtocol,
    "SHA256": config.usmHMAC192SHA256AuthProtocol,
    "SHA384": config.usmHMAC256SHA384AuthProtocol,
    "SHA512": config.usmHMAC384SHA512AuthProtocol,
}
# AES192/256 as net-snmp does them (the Blumenthal key extension).
PRIV = {
    "none": config.usmNoPrivProtocol,
    "AES128": config.usmAesCfb128Protocol,
    "AES192": config.usmAesBlumenthalCfb192Protocol,
    "AES256": config.usmAesBlumenthalCfb256Protocol,
}

snmp = engine.SnmpEngine(snmpEngineID=rfc1902.OctetString(hexValue=sys.argv[1]))
transport = udp.UdpTransport().openServerMode(("127.0.0.1", 0))
config.addTransport(snmp, udp.domainName, transport)
for spec in sys.argv[2:]:
    name, auth, authpass, priv, privpass = spec.split(":")
    # No securityEngineId: the keys are localized to this engine's own ID.
    config.addV3User(
        snmp, name,
        AUTH[auth], authpass if auth != "none" else None,
        PRIV[priv], privpass if priv != "none" else None,
    )


def received(snmp, ref, ctx_engine, ctx_name, varbinds, cb):
    exec_ctx = snmp.observer.getExecutionContext("rfc3412.receiveMessage:request")
    parts = [
        "NOTIFY", str(exec_ctx["securityName"]),
        exec_ctx["pdu"].__class__.__name__, str(exec_ctx["securityLevel"]),
    ]
    for oid, val in varbinds:
        parts.append("%s=%s" % (oid.prettyPrint(), val.prettyPrint()))
    print("\t".join(parts), flush=True)


def refused(snmp, point, variables, cb):
    # Why the USM refused a message (a wrong digest, an unknown user...):
    # what the test checks a wrong key fails for.
    status = variables["statusInformation"]
    user = status["msgUserName"] if "msgUserName" in status else "-"
    oid = ".".join(str(n) for n in status["oid"]) if "oid" in status else "-"
    print("\t".join(["REFUSED", str(user), status["errorIndication"].__class__.__name__, oid]), flush=True)


snmp.observer.registerObserver(refused, "rfc3412.prepareDataElements:sm-failure")
ntfrcv.NotificationReceiver(snmp, received)
print("PORT %d" % transport.socket.getsockname()[1], flush=True)
snmp.transportDispatcher.jobStarted(1)
snmp.transportDispatcher.runDispatcher()
