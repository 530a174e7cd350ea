// Sends every @aws-sdk/client-s3 command once to a loopback recorder; prints the command names in
// order. DNS is forced to 127.0.0.1, so virtual-hosted names never leave this machine.
import * as S3 from "@aws-sdk/client-s3";
import http from "node:http";
import fs from "node:fs";
const [port, style, out] = [process.argv[2], process.argv[3], process.argv[4]];
const agent = new http.Agent({ keepAlive: true, lookup: (h, o, cb) => o && o.all ? cb(null, [{address: "127.0.0.1", family: 4}]) : cb(null, "127.0.0.1", 4) });
const client = new S3.S3Client({
  region: "us-west-2", endpoint: `http://s3.local.test:${port}`, forcePathStyle: style === "path",
  credentials: { accessKeyId: "AKIAFIXTURE000000000", secretAccessKey: "fixture-secret" },
  maxAttempts: 1, requestHandler: { httpAgent: agent },
});
const input = {
  Bucket: "amzn-s3-demo-bucket", Key: "dir/a b \u2713+.txt", UploadId: "VXBsb2Fk", PartNumber: 3,
  CopySource: "src-bucket/src%20key", Id: "cfg1", AnnotationName: "n1", RequestRoute: "route-1",
  RequestToken: "tok", ObjectAttributes: ["ETag"], RenameSource: "amzn-s3-demo-bucket/old", Body: "hello",
  Policy: "{}", Delete: { Objects: [{ Key: "a" }] }, Tagging: { TagSet: [] }, VersionId: "v1",
  Expression: "select 1", ExpressionType: "SQL", InputSerialization: { CSV: {} }, OutputSerialization: { CSV: {} },
};
const names = Object.keys(S3).filter((n) => /^[A-Z]\w*Command$/.test(n)).sort();
const log = [];
for (const n of names) {
  const op = n.slice(0, -"Command".length);
  const args = op === "ListDirectoryBuckets" ? {} : { ...input };
  try { await client.send(new S3[n](args)); log.push(op); }
  catch (e) { log.push(op + (e.$metadata ? "" : " !" + e.name + ":" + e.message.slice(0, 60))); }
}
fs.writeFileSync(out, log.join("\n") + "\n");
agent.destroy();
