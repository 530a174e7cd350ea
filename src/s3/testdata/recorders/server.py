# Loopback recorder (binds 127.0.0.1 on a free port, written to PORTFILE): logs every raw request head (request line + headers, as received) and
# answers 200 with an empty body. Usage: server.py PORTFILE OUTFILE
import socket, sys, threading, json
port, out = 0, sys.argv[2]
lock = threading.Lock()
def read_body(f, head):
    lines = head.split(b"\r\n")
    hdrs = {}
    for l in lines[1:]:
        if b":" in l:
            k, v = l.split(b":", 1); hdrs[k.strip().lower()] = v.strip()
    return hdrs
def handle(conn):
    f = conn.makefile("rb")
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = f.readline()
            if not line: conn.close(); return
            head += line
        hdrs = read_body(f, head)
        with lock:
            with open(out, "ab") as o: o.write(head + b"\n")
        if hdrs.get(b"expect", b"").lower() == b"100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if b"content-length" in hdrs:
            f.read(int(hdrs[b"content-length"]))
        elif hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:
                size = int(f.readline().split(b";")[0], 16)
                f.read(size + 2) if size else None
                if size == 0:
                    while f.readline() not in (b"\r\n", b""): pass
                    break
        body = b""
        if b"?session" in head.split(b"\r\n", 1)[0]:
            body = (b"<CreateSessionResult><Credentials><SessionToken>tok</SessionToken>"
                    b"<SecretAccessKey>sk</SecretAccessKey><AccessKeyId>ak</AccessKeyId>"
                    b"<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></CreateSessionResult>")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nx-amz-request-id: 1\r\n\r\n" % len(body) + body)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16); open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
