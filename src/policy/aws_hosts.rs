//! AWS's own S3 host names, which the SDKs reach over HTTPS unless told otherwise.
//!
//! Recognised: the global and regional forms (`s3.amazonaws.com`, `s3.us-west-2.amazonaws.com`,
//! legacy `s3-us-west-2.amazonaws.com`, `s3-external-1`), virtual-hosted buckets in front of any
//! of them, dualstack and FIPS variants, Transfer Acceleration (`s3-accelerate`), access points
//! (`s3-accesspoint`, multi-region `*.accesspoint.s3-global`), Object Lambda, S3 Control,
//! Outposts and S3 Express (`s3express-<az>`, `s3express-control`), in the `amazonaws.com` and
//! `amazonaws.com.cn` partitions. Not recognised on purpose: website endpoints
//! (`s3-website-…`, `s3-website.…`), which serve HTTP only.

/// Service labels that name S3 (before the region / dualstack labels).
const SERVICE_LABELS: &[&str] = &[
    "s3",
    "s3-external-1",
    "s3-fips",
    "s3-accelerate",
    "s3-accesspoint",
    "s3-accesspoint-fips",
    "s3-object-lambda",
    "s3-object-lambda-fips",
    "s3-control",
    "s3-control-fips",
    "s3-outposts",
    "s3-outposts-fips",
    "s3-global",
    "s3express-control",
    "s3express-control-fips",
];

/// Is `host` (normalised: lowercase, no port, no trailing dot) one of AWS's S3 hosts?
pub fn is_aws_s3_host(host: &str) -> bool {
    let Some(rest) = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    let labels: Vec<&str> = rest.split('.').collect();
    // The service label is the rightmost one that names S3; everything to its right must be a
    // region or `dualstack` (`s3.dualstack.us-west-2`, `s3-accesspoint.dualstack.eu-west-1`).
    let Some(pos) = labels.iter().rposition(|l| l.starts_with("s3")) else {
        return false;
    };
    let tail_ok = labels
        .get(pos + 1..)
        .unwrap_or_default()
        .iter()
        .all(|l| *l == "dualstack" || is_region(l));
    tail_ok && labels.get(pos).is_some_and(|l| is_service_label(l))
}

fn is_service_label(label: &str) -> bool {
    if label.starts_with("s3-website") {
        return false; // website endpoints are HTTP-only
    }
    if SERVICE_LABELS.contains(&label) {
        return true;
    }
    // S3 Express zonal endpoints: `s3express-usw2-az1`, `s3express-fips-use1-az4`.
    if let Some(zone) = label.strip_prefix("s3express-") {
        return !zone.is_empty();
    }
    // Legacy dash-region forms: `s3-us-west-2`, `s3-fips-us-gov-west-1`.
    label
        .strip_prefix("s3-fips-")
        .or_else(|| label.strip_prefix("s3-"))
        .is_some_and(is_region)
}

/// `us-west-2`, `eu-central-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`: letters and
/// dashes, ending in a dash and a number.
fn is_region(label: &str) -> bool {
    let Some((name, num)) = label.rsplit_once('-') else {
        return false;
    };
    !num.is_empty()
        && num.bytes().all(|b| b.is_ascii_digit())
        && name.contains('-')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_hosts_in_every_form() {
        for h in [
            "s3.amazonaws.com",
            "bucket.s3.amazonaws.com",
            "my.dotted.bucket.s3.amazonaws.com",
            "s3.us-west-2.amazonaws.com",
            "bucket.s3.us-west-2.amazonaws.com",
            "s3-us-west-2.amazonaws.com",
            "bucket.s3-us-west-2.amazonaws.com",
            "s3-external-1.amazonaws.com",
            "s3.dualstack.us-west-2.amazonaws.com",
            "bucket.s3.dualstack.eu-central-1.amazonaws.com",
            "s3-fips.us-east-1.amazonaws.com",
            "s3-fips.dualstack.us-east-1.amazonaws.com",
            "s3-fips-us-gov-west-1.amazonaws.com",
            "bucket.s3-accelerate.amazonaws.com",
            "bucket.s3-accelerate.dualstack.amazonaws.com",
            "ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com",
            "ap-123456789012.s3-accesspoint.dualstack.us-west-2.amazonaws.com",
            "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
            "olap-123456789012.s3-object-lambda.us-west-2.amazonaws.com",
            "123456789012.s3-control.us-west-2.amazonaws.com",
            "op-01ac5d28a6a232904.s3-outposts.us-west-2.amazonaws.com",
            "bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com",
            "s3express-control.us-west-2.amazonaws.com",
            "s3.cn-north-1.amazonaws.com.cn",
            "bucket.s3.cn-northwest-1.amazonaws.com.cn",
            "s3.us-gov-west-1.amazonaws.com",
        ] {
            assert!(is_aws_s3_host(h), "{h}");
        }
    }

    #[test]
    fn not_s3_or_http_only() {
        for h in [
            "amazonaws.com",
            "ec2.us-west-2.amazonaws.com",
            "s3foo.ec2.amazonaws.com",
            "sts.amazonaws.com",
            "bucket.s3-website-us-east-1.amazonaws.com",
            "bucket.s3-website.eu-central-1.amazonaws.com",
            "s3.local.test",
            "s3.amazonaws.com.evil.test",
            "s3.amazonaws.co",
            "s3.us-west-2.notamazonaws.com",
            "s3.bogus.amazonaws.com",
            "",
        ] {
            assert!(!is_aws_s3_host(h), "{h}");
        }
    }
}
