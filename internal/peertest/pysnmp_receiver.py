# An SNMPv3 notification receiver built on pysnmp (Debian python3-pysnmp4),
# the second SNMPv3 implementation the tests check the agent's messages
# with; started by StartPysnmp (pysnmp.go), which embeds this file.
#
# argv[1] is a JSON file:
#   {"engine_id": HEX or "",
#    "users": [{"name", "engine_id", "auth", "auth_pass", "priv", "priv_pass"}]}
# engine_id is the receiver's own engine ID ("": pysnmp makes one), the
# authoritative engine of the informs it receives (RFC 3414 1.5.1). A user's
# keys are localized by pysnmp from the passwords: to the user's engine_id,
# that of the sender whose traps it sends, or to the receiver's own engine
# when it is "" (informs). auth/priv are hostagent's protocol names, "none"
# for none.
#
# It prints one JSON object a line (values may hold any character):
#   {"event": "ready", "port": N, "engine_id": HEX} once listening;
#   {"event": "notification", "user", "pdu", "level", "varbinds": [[OID, VALUE]]}
#     per notification, after pysnmp has sent the Response to an inform:
#     pdu is pysnmp's class (InformRequestPDU, SNMPv2TrapPDU), level the
#     securityLevel (1 noAuthNoPriv, 2 authNoPriv, 3 authPriv), OIDs numeric;
#   {"event": "refused", "user", "reason", "counter"} per message its USM
#     refused: reason the errorIndication class (AuthenticationFailure...),
#     counter the usmStats OID it counts in, "" when there is none.
import json
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


def emit(**fields):
    print(json.dumps(fields), flush=True)


with open(sys.argv[1]) as f:
    conf = json.load(f)

if conf["engine_id"]:
    snmp = engine.SnmpEngine(snmpEngineID=rfc1902.OctetString(hexValue=conf["engine_id"]))
else:
    snmp = engine.SnmpEngine()
transport = udp.UdpTransport().openServerMode(("127.0.0.1", 0))
config.addTransport(snmp, udp.domainName, transport)
for u in conf["users"]:
    extra = {}
    if u["engine_id"]:
        extra["securityEngineId"] = rfc1902.OctetString(hexValue=u["engine_id"])
    # Without securityEngineId the keys are localized to this engine's own ID.
    config.addV3User(
        snmp, u["name"],
        AUTH[u["auth"]], u["auth_pass"] if u["auth"] != "none" else None,
        PRIV[u["priv"]], u["priv_pass"] if u["priv"] != "none" else None,
        **extra,
    )


def received(snmp, ref, ctx_engine, ctx_name, varbinds, cb):
    exec_ctx = snmp.observer.getExecutionContext("rfc3412.receiveMessage:request")
    emit(
        event="notification",
        user=str(exec_ctx["securityName"]),
        pdu=exec_ctx["pdu"].__class__.__name__,
        level=int(exec_ctx["securityLevel"]),
        varbinds=[[oid.prettyPrint(), val.prettyPrint()] for oid, val in varbinds],
    )


def refused(snmp, point, variables, cb):
    # Why the USM refused a message (a wrong digest, an unknown user...):
    # what a test checks a wrong key fails for.
    status = variables["statusInformation"]
    user = str(status["msgUserName"]) if "msgUserName" in status else ""
    oid = ".".join(str(n) for n in status["oid"]) if "oid" in status else ""
    emit(event="refused", user=user, reason=status["errorIndication"].__class__.__name__, counter=oid)


snmp.observer.registerObserver(refused, "rfc3412.prepareDataElements:sm-failure")
ntfrcv.NotificationReceiver(snmp, received)
emit(event="ready", port=transport.socket.getsockname()[1], engine_id=snmp.snmpEngineID.asOctets().hex())
snmp.transportDispatcher.jobStarted(1)
snmp.transportDispatcher.runDispatcher()
