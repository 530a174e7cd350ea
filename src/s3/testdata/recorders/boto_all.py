# Sends every operation of botocore's S3 model once to a loopback recorder (DNS forced to
# 127.0.0.1), with required members synthesised from the model. Prints op names in send order.
import socket, sys, datetime
_real = socket.getaddrinfo
def _loop(host, port, *a, **k):
    return _real("127.0.0.1", port, *a, **k)
socket.getaddrinfo = _loop
import botocore.session
from botocore.config import Config
port, style, out = sys.argv[1], sys.argv[2], sys.argv[3]
sess = botocore.session.get_session()
client = sess.create_client("s3", region_name="us-west-2", endpoint_url=f"http://s3.local.test:{port}",
    aws_access_key_id="AKIAFIXTURE000000000", aws_secret_access_key="fixture-secret",
    config=Config(s3={"addressing_style": style}, retries={"max_attempts": 1, "mode": "standard"},
                  request_checksum_calculation="when_required"))
model = client.meta.service_model
FIXED = {"Bucket": "amzn-s3-demo-bucket", "Key": "dir/a b \u2713+.txt", "UploadId": "VXBsb2Fk",
         "PartNumber": 3, "CopySource": "src-bucket/src key", "Id": "cfg1", "AnnotationName": "n1",
         "RequestRoute": "route-1", "RequestToken": "tok", "RenameSource": "amzn-s3-demo-bucket/old",
         "Policy": "{}", "Body": b"hello"}
def synth(shape, name, depth=0):
    if name in FIXED: return FIXED[name]
    t = shape.type_name
    if t == "structure" and shape.metadata.get("union"):
        m = next(iter(shape.members)); return {m: synth(shape.members[m], m, depth + 1)}
    if t == "structure":
        return {m: synth(shape.members[m], m, depth + 1) for m in shape.required_members} if depth < 6 else {}
    if t == "list": return []
    if t == "map": return {}
    if t in ("integer", "long"): return 1
    if t == "boolean": return False
    if t == "timestamp": return datetime.datetime(2026, 1, 1)
    if t == "blob": return b"x"
    if t == "string": return shape.enum[0] if shape.enum else "x" * max(1, shape.metadata.get("min", 1))
    return "x"
log = []
for op in model.operation_names:
    om = model.operation_model(op)
    params = synth(om.input_shape, "") if om.input_shape else {}
    meth = getattr(client, botocore.xform_name(op))
    try:
        meth(**params); log.append(op)
    except Exception as e:
        log.append(op + ("" if hasattr(e, "response") else " !" + type(e).__name__ + ":" + str(e)[:300].replace("\n"," ")))
open(out, "w").write("\n".join(log) + "\n")
