# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_s3wire_global_optspecs
    string join \n h/help V/version
end

function __fish_s3wire_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_s3wire_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_s3wire_using_subcommand
    set -l cmd (__fish_s3wire_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c s3wire -n "__fish_s3wire_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3wire -n "__fish_s3wire_needs_command" -s V -l version -d 'Print version'
complete -c s3wire -n "__fish_s3wire_needs_command" -f -a "analyze" -d 'Analyse pcap/pcapng capture files (or - for standard input)'
complete -c s3wire -n "__fish_s3wire_needs_command" -f -a "capture" -d 'Capture live from an interface (libpcap) until Ctrl-C, --duration or --count; print each S3 request as it completes, then the full report'
complete -c s3wire -n "__fish_s3wire_needs_command" -f -a "run" -d 'Capture while COMMAND runs (with SSLKEYLOGFILE set for it) and report on its traffic only. The report goes to standard error (or --output): COMMAND\'s own output stays clean'
complete -c s3wire -n "__fish_s3wire_needs_command" -f -a "endpoints" -d 'Print the endpoint policy (which endpoints count as HTTPS) and where each entry came from'
complete -c s3wire -n "__fish_s3wire_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l keylog -d 'TLS key log (NSS format, as written by SSLKEYLOGFILE; repeatable) to decrypt HTTPS sessions, so their operations are named too. Key logs inside a pcapng (Decryption Secrets Blocks, `editcap --inject-secrets`) are used without this flag' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l endpoint -d 'An endpoint the client was configured with (repeatable). The scheme matters: `https://host` makes any plaintext request to `host` (any port) a finding' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l profile -d 'AWS profile whose `endpoint_url` settings apply (default, as in botocore: $AWS_DEFAULT_PROFILE, else $AWS_PROFILE, else `default`)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l resolve -d 'HOST=IP: the address an endpoint\'s host had (repeatable, like curl\'s --resolve). Ties refused or unanswered connections, and requests whose Host the capture cut, to an endpoint when the capture itself never names the address (no TLS session or request to it)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l format -d 'Report format (default: table on a terminal, json otherwise)' -r -f -a "table\t''
json\t''
jsonl\t''
markdown\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -s o -l output -d 'Write the report to FILE instead of standard output (standard error for `run`); `-` is standard output, `./-` a file named `-`' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l color -d 'Colour in the table format' -r -f -a "auto\t''
always\t''
never\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l fail-on -d 'Finding kinds that also make the exit status 1 (comma-separated, or `all`). Without it, plaintext to an HTTPS endpoint, plaintext to a TLS port and refused plaintext attempts fail; `credentials-in-cleartext` to a host nobody configured as HTTPS is a warning' -r -f -a "plaintext-to-https-endpoint\t''
plaintext-to-tls-port\t''
refused-plaintext-attempt\t''
credentials-in-cleartext\t''
all\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l max-connections -d 'Connections tracked at once (least recently active is evicted beyond this)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l connection-memory -d 'Memory (MiB) the connection table may use: about 6,000 connections with data, or 36,000 unanswered SYNs, per 20 MiB. Beyond it the least recently active connection is evicted (counted, with a warning). The default keeps s3wire within 64 MiB on hostile captures; raise it for captures of hosts with very many concurrent connections' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l max-requests -d 'Requests listed by the table report (default 50; -v lists every one). Every request is analysed and judged whatever this is; JSON and JSON Lines list them all' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l threads -d 'Threads to use (default: one per core). 1 keeps all the work on one thread; 2 or more run the analysis and the report on a thread each, with helper threads (more than two use no more yet). The report is the same, byte for byte, whatever the number' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l write-sanitized -d 'Also write a capture fit to attach to a public issue (pcapng): the HTTP exchanges, TLS handshakes and connection attempts the report describes, with bodies removed, signatures, tokens, presigned credentials and cookies scrubbed (whatever --no-redact says), TLS reduced to its hellos and no key log' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l no-aws-config -d 'Ignore AWS_ENDPOINT_URL* variables and the AWS config file'
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l no-redact -d 'Show signatures, session tokens and presigned credentials instead of redacting them'
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -s v -l verbose -d 'More detail (table: list every request)'
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -s q -l quiet -d 'Only the findings\' gist (table format)'
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -l sanitize-addresses -d 'With --write-sanitized: replace IP addresses (10.0.0.N, fd00::N) and host names (hostN.example) by stable placeholders; the endpoints to re-analyse it with are printed on standard error'
complete -c s3wire -n "__fish_s3wire_using_subcommand analyze" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -s i -l interface -d 'Network interface to capture on (`any`: every interface, Linux)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l filter -d 'BPF capture filter (tcpdump syntax), applied in the kernel' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -s w -l write -d 'Also save the captured packets to FILE as pcapng (to attach to an issue or re-analyse)' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l duration -d 'Stop after this many seconds' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l count -d 'Stop after this many packets' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l keylog -d 'An NSS key log (SSLKEYLOGFILE) to read TLS secrets from as it grows' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l endpoint -d 'An endpoint the client was configured with (repeatable). The scheme matters: `https://host` makes any plaintext request to `host` (any port) a finding' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l profile -d 'AWS profile whose `endpoint_url` settings apply (default, as in botocore: $AWS_DEFAULT_PROFILE, else $AWS_PROFILE, else `default`)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l resolve -d 'HOST=IP: the address an endpoint\'s host had (repeatable, like curl\'s --resolve). Ties refused or unanswered connections, and requests whose Host the capture cut, to an endpoint when the capture itself never names the address (no TLS session or request to it)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l format -d 'Report format (default: table on a terminal, json otherwise)' -r -f -a "table\t''
json\t''
jsonl\t''
markdown\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -s o -l output -d 'Write the report to FILE instead of standard output (standard error for `run`); `-` is standard output, `./-` a file named `-`' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l color -d 'Colour in the table format' -r -f -a "auto\t''
always\t''
never\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l fail-on -d 'Finding kinds that also make the exit status 1 (comma-separated, or `all`). Without it, plaintext to an HTTPS endpoint, plaintext to a TLS port and refused plaintext attempts fail; `credentials-in-cleartext` to a host nobody configured as HTTPS is a warning' -r -f -a "plaintext-to-https-endpoint\t''
plaintext-to-tls-port\t''
refused-plaintext-attempt\t''
credentials-in-cleartext\t''
all\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l max-connections -d 'Connections tracked at once (least recently active is evicted beyond this)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l connection-memory -d 'Memory (MiB) the connection table may use: about 6,000 connections with data, or 36,000 unanswered SYNs, per 20 MiB. Beyond it the least recently active connection is evicted (counted, with a warning). The default keeps s3wire within 64 MiB on hostile captures; raise it for captures of hosts with very many concurrent connections' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l max-requests -d 'Requests listed by the table report (default 50; -v lists every one). Every request is analysed and judged whatever this is; JSON and JSON Lines list them all' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l threads -d 'Threads to use (default: one per core). 1 keeps all the work on one thread; 2 or more run the analysis and the report on a thread each, with helper threads (more than two use no more yet). The report is the same, byte for byte, whatever the number' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l write-sanitized -d 'Also write a capture fit to attach to a public issue (pcapng): the HTTP exchanges, TLS handshakes and connection attempts the report describes, with bodies removed, signatures, tokens, presigned credentials and cookies scrubbed (whatever --no-redact says), TLS reduced to its hellos and no key log' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l no-aws-config -d 'Ignore AWS_ENDPOINT_URL* variables and the AWS config file'
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l no-redact -d 'Show signatures, session tokens and presigned credentials instead of redacting them'
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -s v -l verbose -d 'More detail (table: list every request)'
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -s q -l quiet -d 'Only the findings\' gist (table format)'
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -l sanitize-addresses -d 'With --write-sanitized: replace IP addresses (10.0.0.N, fd00::N) and host names (hostN.example) by stable placeholders; the endpoints to re-analyse it with are printed on standard error'
complete -c s3wire -n "__fish_s3wire_using_subcommand capture" -s h -l help -d 'Print help'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -s i -l interface -d 'Network interface to capture on (`any`: every interface, Linux)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l filter -d 'BPF capture filter (tcpdump syntax), applied in the kernel' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -s w -l write -d 'Also save the captured packets to FILE as pcapng (to attach to an issue or re-analyse)' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l keylog -d 'Keep COMMAND\'s TLS key log (SSLKEYLOGFILE) at FILE instead of a removed temporary file' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l endpoint -d 'An endpoint the client was configured with (repeatable). The scheme matters: `https://host` makes any plaintext request to `host` (any port) a finding' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l profile -d 'AWS profile whose `endpoint_url` settings apply (default, as in botocore: $AWS_DEFAULT_PROFILE, else $AWS_PROFILE, else `default`)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l resolve -d 'HOST=IP: the address an endpoint\'s host had (repeatable, like curl\'s --resolve). Ties refused or unanswered connections, and requests whose Host the capture cut, to an endpoint when the capture itself never names the address (no TLS session or request to it)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l format -d 'Report format (default: table on a terminal, json otherwise)' -r -f -a "table\t''
json\t''
jsonl\t''
markdown\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -s o -l output -d 'Write the report to FILE instead of standard output (standard error for `run`); `-` is standard output, `./-` a file named `-`' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l color -d 'Colour in the table format' -r -f -a "auto\t''
always\t''
never\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l fail-on -d 'Finding kinds that also make the exit status 1 (comma-separated, or `all`). Without it, plaintext to an HTTPS endpoint, plaintext to a TLS port and refused plaintext attempts fail; `credentials-in-cleartext` to a host nobody configured as HTTPS is a warning' -r -f -a "plaintext-to-https-endpoint\t''
plaintext-to-tls-port\t''
refused-plaintext-attempt\t''
credentials-in-cleartext\t''
all\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l max-connections -d 'Connections tracked at once (least recently active is evicted beyond this)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l connection-memory -d 'Memory (MiB) the connection table may use: about 6,000 connections with data, or 36,000 unanswered SYNs, per 20 MiB. Beyond it the least recently active connection is evicted (counted, with a warning). The default keeps s3wire within 64 MiB on hostile captures; raise it for captures of hosts with very many concurrent connections' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l max-requests -d 'Requests listed by the table report (default 50; -v lists every one). Every request is analysed and judged whatever this is; JSON and JSON Lines list them all' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l threads -d 'Threads to use (default: one per core). 1 keeps all the work on one thread; 2 or more run the analysis and the report on a thread each, with helper threads (more than two use no more yet). The report is the same, byte for byte, whatever the number' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l write-sanitized -d 'Also write a capture fit to attach to a public issue (pcapng): the HTTP exchanges, TLS handshakes and connection attempts the report describes, with bodies removed, signatures, tokens, presigned credentials and cookies scrubbed (whatever --no-redact says), TLS reduced to its hellos and no key log' -r -F
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l all-traffic -d 'Report every connection seen, not only those of COMMAND and its children (without it, COMMAND runs in a cgroup v2 of its own whose packets alone are captured, where the machine has cgroup v2 and nft; else processes are looked up in /proc, and a connection whose process could not be found is listed with owner unknown, its findings warnings only)'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l no-aws-config -d 'Ignore AWS_ENDPOINT_URL* variables and the AWS config file'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l no-redact -d 'Show signatures, session tokens and presigned credentials instead of redacting them'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -s v -l verbose -d 'More detail (table: list every request)'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -s q -l quiet -d 'Only the findings\' gist (table format)'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -l sanitize-addresses -d 'With --write-sanitized: replace IP addresses (10.0.0.N, fd00::N) and host names (hostN.example) by stable placeholders; the endpoints to re-analyse it with are printed on standard error'
complete -c s3wire -n "__fish_s3wire_using_subcommand run" -s h -l help -d 'Print help'
complete -c s3wire -n "__fish_s3wire_using_subcommand endpoints" -l endpoint -d 'An endpoint the client was configured with (repeatable). The scheme matters: `https://host` makes any plaintext request to `host` (any port) a finding' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand endpoints" -l profile -d 'AWS profile whose `endpoint_url` settings apply (default, as in botocore: $AWS_DEFAULT_PROFILE, else $AWS_PROFILE, else `default`)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand endpoints" -l resolve -d 'HOST=IP: the address an endpoint\'s host had (repeatable, like curl\'s --resolve). Ties refused or unanswered connections, and requests whose Host the capture cut, to an endpoint when the capture itself never names the address (no TLS session or request to it)' -r
complete -c s3wire -n "__fish_s3wire_using_subcommand endpoints" -l format -d 'Output format (json and jsonl print the same list as machine records)' -r -f -a "table\t''
json\t''
jsonl\t''
markdown\t''"
complete -c s3wire -n "__fish_s3wire_using_subcommand endpoints" -l no-aws-config -d 'Ignore AWS_ENDPOINT_URL* variables and the AWS config file'
complete -c s3wire -n "__fish_s3wire_using_subcommand endpoints" -s h -l help -d 'Print help'
complete -c s3wire -n "__fish_s3wire_using_subcommand help; and not __fish_seen_subcommand_from analyze capture run endpoints help" -f -a "analyze" -d 'Analyse pcap/pcapng capture files (or - for standard input)'
complete -c s3wire -n "__fish_s3wire_using_subcommand help; and not __fish_seen_subcommand_from analyze capture run endpoints help" -f -a "capture" -d 'Capture live from an interface (libpcap) until Ctrl-C, --duration or --count; print each S3 request as it completes, then the full report'
complete -c s3wire -n "__fish_s3wire_using_subcommand help; and not __fish_seen_subcommand_from analyze capture run endpoints help" -f -a "run" -d 'Capture while COMMAND runs (with SSLKEYLOGFILE set for it) and report on its traffic only. The report goes to standard error (or --output): COMMAND\'s own output stays clean'
complete -c s3wire -n "__fish_s3wire_using_subcommand help; and not __fish_seen_subcommand_from analyze capture run endpoints help" -f -a "endpoints" -d 'Print the endpoint policy (which endpoints count as HTTPS) and where each entry came from'
complete -c s3wire -n "__fish_s3wire_using_subcommand help; and not __fish_seen_subcommand_from analyze capture run endpoints help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
