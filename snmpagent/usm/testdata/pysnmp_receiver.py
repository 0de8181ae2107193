# A notification receiver built on pysnmp (Debian python3-pysnmp4), the
# second SNMPv3 implementation the tests check the agent's messages with.
# argv: the agent's engine ID (hex), then users as
# name:auth:authpass:priv:privpass (auth/priv "none" for none).
# Prints "PORT <n>" once listening, then one line per notification:
# "NOTIFY <user> <oid>=<value> ..." with numeric OIDs.
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

snmp = engine.SnmpEngine()
transport = udp.UdpTransport().openServerMode(("127.0.0.1", 0))
config.addTransport(snmp, udp.domainName, transport)
agent = rfc1902.OctetString(hexValue=sys.argv[1])
for spec in sys.argv[2:]:
    name, auth, authpass, priv, privpass = spec.split(":")
    config.addV3User(
        snmp, name,
        AUTH[auth], authpass if auth != "none" else None,
        PRIV[priv], privpass if priv != "none" else None,
        securityEngineId=agent,
    )


def received(snmp, ref, ctx_engine, ctx_name, varbinds, cb):
    exec_ctx = snmp.observer.getExecutionContext("rfc3412.receiveMessage:request")
    parts = ["NOTIFY", str(exec_ctx["securityName"])]
    for oid, val in varbinds:
        parts.append("%s=%s" % (oid.prettyPrint(), val.prettyPrint()))
    print(" ".join(parts), flush=True)


ntfrcv.NotificationReceiver(snmp, received)
print("PORT %d" % transport.socket.getsockname()[1], flush=True)
snmp.transportDispatcher.jobStarted(1)
snmp.transportDispatcher.runDispatcher()
