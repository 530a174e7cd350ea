# botocore 1.44.8 against AWS's own S3 host forms, over plain HTTP, with every connection sent to a
# loopback recorder (socket.getaddrinfo patched in-process: nothing leaves 127.0.0.1). Each wire
# request is labelled from botocore's own `before-send.s3.<Operation>` event.
import socket, sys, datetime, urllib.request
port_file, out = sys.argv[1], sys.argv[2]
REC = int(open(port_file).read())
_real = socket.getaddrinfo
socket.getaddrinfo = lambda host, port, *a, **k: _real("127.0.0.1", REC, *a, **k)
import botocore.session
from botocore.config import Config
labels = []
def mk(region="us-west-2", **cfg):
    s = botocore.session.get_session()
    c = s.create_client("s3", region_name=region, use_ssl=False, aws_access_key_id="AKIAFIXTURE000000000",
        aws_secret_access_key="fixture-secret", config=Config(retries={"max_attempts": 1, "mode": "standard"},
        request_checksum_calculation="when_required", **cfg))
    c.meta.events.register("before-send.s3", lambda event_name, **kw: labels.append(
        (event_name.split(".")[-1], CASE)))
    return c
FIXED = {"Bucket": "amzn-s3-demo-bucket", "Key": "dir/a b \u2713+.txt", "UploadId": "VXBsb2Fk",
         "PartNumber": 3, "CopySource": "src-bucket/src key", "Id": "cfg1", "AnnotationName": "n1",
         "RequestRoute": "route-1", "RequestToken": "tok", "RenameSource": "amzn-s3-demo-bucket/old",
         "Policy": "{}", "Body": b"hello"}
def synth(shape, name, fixed, depth=0):
    if name in fixed: return fixed[name]
    t = shape.type_name
    if t == "structure" and shape.metadata.get("union"):
        m = next(iter(shape.members)); return {m: synth(shape.members[m], m, fixed, depth + 1)}
    if t == "structure":
        return {m: synth(shape.members[m], m, fixed, depth + 1) for m in shape.required_members} if depth < 6 else {}
    if t == "list": return []
    if t == "map": return {}
    if t in ("integer", "long"): return 1
    if t == "boolean": return False
    if t == "timestamp": return datetime.datetime(2026, 1, 1)
    if t == "blob": return b"x"
    if t == "string": return shape.enum[0] if shape.enum else "x" * max(1, shape.metadata.get("min", 1))
    return "x"
def run(client, ops, **over):
    fixed = dict(FIXED, **over)
    for op in ops:
        om = client.meta.service_model.operation_model(op)
        params = synth(om.input_shape, "", fixed) if om.input_shape else {}
        if op in ("ListBuckets", "ListDirectoryBuckets"): params = {}
        try: getattr(client, botocore.xform_name(op))(**params)
        except Exception: pass
FEW = ["GetObject", "PutObject", "ListObjectsV2", "GetBucketTagging", "GetObjectTagging", "HeadBucket"]
CASE = "regional virtual"; c = mk(); run(c, c.meta.service_model.operation_names)
CASE = "us-east-1 path"; run(mk("us-east-1", s3={"addressing_style": "path"}), FEW)
CASE = "us-east-1 virtual"; run(mk("us-east-1", s3={"addressing_style": "virtual"}), FEW)
CASE = "dualstack"; run(mk(use_dualstack_endpoint=True), FEW)
CASE = "fips"; run(mk("us-east-1", use_fips_endpoint=True), FEW)
CASE = "accelerate"; run(mk(s3={"use_accelerate_endpoint": True}), FEW)
CASE = "china"; run(mk("cn-north-1"), FEW)
CASE = "access point"; run(mk(), FEW[:3] + FEW[4:5], Bucket="arn:aws:s3:us-west-2:123456789012:accesspoint/myap")
CASE = "express"; run(mk(), ["GetObject", "PutObject", "ListObjectsV2", "DeleteObject", "CreateBucket", "GetBucketPolicy"],
                      Bucket="mybkt--usw2-az1--x-s3")
CASE = "presigned v4"
c = mk(signature_version="s3v4")
for op, m in (("get_object", "GET"), ("put_object", "PUT")):
    url = c.generate_presigned_url(op, Params={"Bucket": "amzn-s3-demo-bucket", "Key": "dir/a b.txt"}, ExpiresIn=600)
    labels.append(({"get_object": "GetObject", "put_object": "PutObject"}[op], CASE + " url"))
    try: urllib.request.urlopen(urllib.request.Request(url, method=m, data=b"x" if m == "PUT" else None))
    except Exception: pass
CASE = "presigned v2"
c = mk(signature_version="s3")
url = c.generate_presigned_url("get_object", Params={"Bucket": "amzn-s3-demo-bucket", "Key": "dir/a b.txt"})
labels.append(("GetObject", CASE + " url"))
try: urllib.request.urlopen(url)
except Exception: pass
open(out, "w").write("".join("%s\t%s\n" % l for l in labels))
