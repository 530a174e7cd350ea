//! The shape of one row of the generated operation table (`ops.rs`), and look-ups over it.
//!
//! Every field is read from botocore's S3 model (`service-2.json`) by `scripts/gen-s3-ops.py`:
//! `http.method`, `http.requestUri` (path template and literal query keys), the input shape's
//! `location: querystring` / `location: header` members and its `required` list, `deprecated`,
//! `endpoint.hostPrefix` and `staticContextParams.UseS3ExpressControlEndpoint`.

use std::sync::LazyLock;

use super::ops::OPERATIONS;

/// Which part of the request URI template precedes the query: it decides whether the operation
/// addresses the service, a bucket or an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathShape {
    /// `/` (ListBuckets, ListDirectoryBuckets).
    Service,
    /// `/{Bucket}`.
    Bucket,
    /// `/{Bucket}/{Key+}`.
    Object,
    /// `/WriteGetObjectResponse` (S3 Object Lambda; the host carries the request route).
    WriteGetObjectResponse,
}

/// A query key fixed by the request URI template (`?tagging`, `?list-type=2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Literal {
    pub key: &'static str,
    /// The fixed value when the template gives one (`list-type=2` → `Some("2")`).
    pub value: Option<&'static str>,
}

/// One operation of the S3 API as the model describes its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub method: &'static str,
    /// `http.requestUri` verbatim.
    pub request_uri: &'static str,
    pub path: PathShape,
    pub literal_query: &'static [Literal],
    /// Wire names of required `querystring` members (`uploadId`, `partNumber`, `id`).
    pub required_query: &'static [&'static str],
    /// Wire names of optional `querystring` members.
    pub optional_query: &'static [&'static str],
    /// Lower-cased names of required `header` members (`x-amz-copy-source`).
    pub required_headers: &'static [&'static str],
    pub deprecated: bool,
    /// For a deprecated operation, the current one sending the identical request line.
    pub current_twin: Option<&'static str>,
    /// `endpoint.hostPrefix` (`{RequestRoute}.` for WriteGetObjectResponse).
    pub host_prefix: Option<&'static str>,
    /// `UseS3ExpressControlEndpoint`: for directory buckets this op goes to `s3express-control`.
    pub express_control: bool,
}

/// The operation with this exact name (the table is sorted by name).
pub fn by_name(name: &str) -> Option<&'static Operation> {
    let i = OPERATIONS.binary_search_by(|op| op.name.cmp(name)).ok()?;
    OPERATIONS.get(i)
}

/// Views of the table built once, so that classifying a request scans a handful of rows
/// instead of all of them.
struct Index {
    /// Current (not deprecated) operations by method and path shape, in table order.
    groups: Vec<Group>,
    /// Every required header name once, in table order (bit `i` of a [`Group::headers`] mask
    /// is the `i`th).
    required_headers: Vec<&'static str>,
    /// Every literal query key once, in table order (a key's bit is its place here).
    literal_keys: Vec<&'static str>,
    /// The literal keys of each length below [`LONGEST_KEY`], as bits (see [`literal_bit`]).
    keys_by_length: [u64; LONGEST_KEY],
    /// The literal keys by first byte, as bits.
    keys_by_first: [u64; 256],
    /// How many places [`Group::queryless_at`] counts in all.
    queryless_places: usize,
    deprecated: Vec<&'static Operation>,
    /// The place in `groups` of each method's ([`method_at`]) groups, by path shape
    /// ([`shape_at`]): found at once, not by comparing texts with each group's.
    by_method: [[Option<usize>; SHAPES]; METHODS.len()],
}

/// The methods S3 operations use (the table has no other).
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];
/// How many path shapes there are.
const SHAPES: usize = 4;

#[inline(always)] // see `group_entry`
fn method_at(method: &str) -> Option<usize> {
    match method {
        "GET" => Some(0),
        "PUT" => Some(1),
        "POST" => Some(2),
        "DELETE" => Some(3),
        "HEAD" => Some(4),
        _ => None,
    }
}

fn shape_at(path: PathShape) -> usize {
    match path {
        PathShape::Service => 0,
        PathShape::Bucket => 1,
        PathShape::Object => 2,
        PathShape::WriteGetObjectResponse => 3,
    }
}

/// A method and path shape's current operations, in table order, with the header names they
/// require and their literal query keys.
#[derive(Debug)]
pub(crate) struct Group {
    /// The group's position in the index: the same for the same method and shape.
    pub at: usize,
    method: &'static str,
    path: PathShape,
    pub ops: Vec<&'static Operation>,
    /// Bit `i`: some operation of the group requires [`required_headers`]`()[i]`.
    pub headers: u32,
    /// The bits of `headers` that operations without literal query keys require: nothing else
    /// can decide the match of a request without a query (only such operations fit it).
    pub queryless_headers: u32,
    /// The first of the group's places for remembering matches without a query, one per
    /// subset of `queryless_headers`; the groups' places follow each other from 0.
    pub queryless_at: usize,
    /// For each of `ops`: its literal query keys, one bit each ([`literal_bit`]).
    pub literals: Vec<u64>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut index = Index {
        groups: Vec::new(),
        required_headers: Vec::new(),
        literal_keys: Vec::new(),
        keys_by_length: [0; LONGEST_KEY],
        keys_by_first: [0; 256],
        queryless_places: 0,
        deprecated: Vec::new(),
        by_method: Default::default(),
    };
    for op in &OPERATIONS {
        for l in op.literal_query {
            if !index.literal_keys.contains(&l.key) {
                index.literal_keys.push(l.key);
            }
        }
        if op.deprecated {
            index.deprecated.push(op);
            continue;
        }
        for h in op.required_headers {
            if !index.required_headers.contains(h) {
                index.required_headers.push(h);
            }
        }
        let at = index.groups.len();
        match index
            .groups
            .iter_mut()
            .find(|g| g.method == op.method && g.path == op.path)
        {
            Some(g) => g.ops.push(op),
            None => index.groups.push(Group {
                at,
                method: op.method,
                path: op.path,
                ops: vec![op],
                headers: 0,
                queryless_headers: 0,
                queryless_at: 0,
                literals: Vec::new(),
            }),
        }
    }
    assert!(
        index.literal_keys.len() <= 64,
        "literal query keys are kept as bits of a u64"
    );
    for (bit, key) in index.literal_keys.iter().enumerate() {
        let (len, first) = (key.len(), key.as_bytes().first());
        assert!(len < LONGEST_KEY, "literal query keys are found by length");
        index.keys_by_length[len] |= 1 << bit;
        index.keys_by_first[usize::from(*first.expect("no literal key is empty"))] |= 1 << bit;
    }
    let (headers, keys) = (&index.required_headers, &index.literal_keys);
    let bit_of = |key: &str| keys.iter().position(|k| *k == key);
    let header_bits = |ops: &mut dyn Iterator<Item = &&Operation>| {
        ops.flat_map(|op| op.required_headers)
            .filter_map(|h| headers.iter().position(|r| r == h))
            .fold(0, |m, i| m | 1 << i)
    };
    for g in &mut index.groups {
        // Every method of the table is one of METHODS (a test holds it to that).
        if let Some(slot) = method_at(g.method)
            .and_then(|m| index.by_method.get_mut(m))
            .and_then(|shapes| shapes.get_mut(shape_at(g.path)))
        {
            *slot = Some(g.at);
        }
        g.headers = header_bits(&mut g.ops.iter());
        g.queryless_headers =
            header_bits(&mut g.ops.iter().filter(|op| op.literal_query.is_empty()));
        g.queryless_at = index.queryless_places;
        index.queryless_places += 1 << g.queryless_headers.count_ones();
        g.literals = g
            .ops
            .iter()
            .map(|op| {
                op.literal_query
                    .iter()
                    .filter_map(|l| bit_of(l.key))
                    .fold(0, |m, bit| m | 1 << bit)
            })
            .collect();
    }
    index
});

/// Literal query keys are shorter than this (the longest of the model's has 23 bytes).
const LONGEST_KEY: usize = 64;

/// The current operations with this method and path shape, in table order.
#[cfg(test)]
pub(crate) fn group(method: &str, path: PathShape) -> &'static [&'static Operation] {
    group_entry(method, path).map_or(&[], |g| &g.ops)
}

// Inlined: called, it cost ~17 instructions a request more (~53 in all).
#[inline(always)]
pub(crate) fn group_entry(method: &str, path: PathShape) -> Option<&'static Group> {
    let at = (*INDEX
        .by_method
        .get(method_at(method)?)?
        .get(shape_at(path))?)?;
    INDEX.groups.get(at)
}

/// Every header name some current operation requires, once.
pub(crate) fn required_headers() -> &'static [&'static str] {
    &INDEX.required_headers
}

/// The deprecated operations, in table order.
pub(crate) fn deprecated() -> &'static [&'static Operation] {
    &INDEX.deprecated
}

/// How many places the groups' remembered matches without a query take ([`Group::queryless_at`]).
pub(crate) fn queryless_places() -> usize {
    INDEX.queryless_places
}

/// True when `key` is a literal query key of some operation (`acl`, `uploads`, `list-type`).
pub fn is_literal_key(key: &str) -> bool {
    literal_bit(key).is_some()
}

/// The literal key's bit (its place among the table's literal keys), None for any other key.
/// Compared only with the literal keys of its length and first byte, nearly always none or
/// one: hashing it for a map cost ~70 instructions a key.
pub(crate) fn literal_bit(key: &str) -> Option<u32> {
    let index = &*INDEX;
    let first = usize::from(*key.as_bytes().first()?);
    let by_length = index.keys_by_length.get(key.len()).copied().unwrap_or(0);
    let mut candidates = by_length & index.keys_by_first.get(first).copied().unwrap_or(0);
    while candidates != 0 {
        let bit = candidates.trailing_zeros();
        candidates &= candidates - 1;
        if index.literal_keys.get(bit as usize) == Some(&key) {
            return Some(bit);
        }
    }
    None
}

/// The literal key that `key` equals ignoring ASCII case, when it differs in case.
pub fn literal_key_case_twin(key: &str) -> Option<&'static str> {
    INDEX
        .literal_keys
        .iter()
        .copied()
        .find(|k| *k != key && k.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::super::ops::{MODEL_BOTOCORE_VERSION, MODEL_SHA256, OPERATION_COUNT};
    use super::*;
    use std::collections::HashSet;

    /// Each group is found by its method and shape, as by a search of the groups.
    #[test]
    fn groups_are_found_by_method_and_shape() {
        let shapes = [
            PathShape::Service,
            PathShape::Bucket,
            PathShape::Object,
            PathShape::WriteGetObjectResponse,
        ];
        assert!(OPERATIONS.iter().all(|op| METHODS.contains(&op.method)));
        for method in METHODS.iter().chain(&["OPTIONS", "get", ""]) {
            for shape in shapes {
                let searched = INDEX
                    .groups
                    .iter()
                    .find(|g| g.path == shape && g.method == *method);
                let found = group_entry(method, shape);
                assert_eq!(found.map(|g| g.at), searched.map(|g| g.at), "{method}");
            }
        }
        assert_eq!(shapes.map(shape_at), [0, 1, 2, 3]);
    }

    #[test]
    fn table_has_all_116_operations_with_unique_names() {
        assert_eq!(OPERATION_COUNT, 116);
        let names: HashSet<_> = OPERATIONS.iter().map(|op| op.name).collect();
        assert_eq!(names.len(), 116);
        assert!(
            OPERATIONS.windows(2).all(|w| w[0].name < w[1].name),
            "sorted"
        );
        assert_eq!(MODEL_BOTOCORE_VERSION, "1.44.8");
        assert_eq!(MODEL_SHA256.len(), 64);
    }

    #[test]
    fn every_row_is_consistent_with_its_request_uri() {
        for op in &OPERATIONS {
            let (path, query) = op
                .request_uri
                .split_once('?')
                .unwrap_or((op.request_uri, ""));
            let shape = match path {
                "/" => PathShape::Service,
                "/{Bucket}" => PathShape::Bucket,
                "/{Bucket}/{Key+}" => PathShape::Object,
                "/WriteGetObjectResponse" => PathShape::WriteGetObjectResponse,
                other => panic!("{}: path {other}", op.name),
            };
            assert_eq!(op.path, shape, "{}", op.name);
            let keys: Vec<_> = query.split('&').filter(|s| !s.is_empty()).collect();
            assert_eq!(keys.len(), op.literal_query.len(), "{}", op.name);
            assert!(["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&op.method));
            assert_eq!(op.deprecated, op.current_twin.is_some(), "{}", op.name);
        }
    }

    #[test]
    fn deprecated_twins_are_the_four_known_pairs() {
        let pairs: Vec<_> = OPERATIONS
            .iter()
            .filter_map(|op| op.current_twin.map(|c| (op.name, c)))
            .collect();
        assert_eq!(
            pairs,
            [
                ("GetBucketLifecycle", "GetBucketLifecycleConfiguration"),
                (
                    "GetBucketNotification",
                    "GetBucketNotificationConfiguration"
                ),
                ("PutBucketLifecycle", "PutBucketLifecycleConfiguration"),
                (
                    "PutBucketNotification",
                    "PutBucketNotificationConfiguration"
                ),
            ]
        );
    }

    #[test]
    fn known_rows_carry_their_discriminators() {
        let upc = by_name("UploadPartCopy").unwrap();
        assert_eq!(upc.required_query, ["partNumber", "uploadId"]);
        assert_eq!(upc.required_headers, ["x-amz-copy-source"]);
        let v2 = by_name("ListObjectsV2").unwrap();
        assert_eq!(
            v2.literal_query,
            [Literal {
                key: "list-type",
                value: Some("2")
            }]
        );
        let wgor = by_name("WriteGetObjectResponse").unwrap();
        assert_eq!(wgor.host_prefix, Some("{RequestRoute}."));
        assert!(by_name("ListDirectoryBuckets").unwrap().express_control);
        assert!(!by_name("ListBuckets").unwrap().express_control);
        assert!(is_literal_key("uploads") && !is_literal_key("uploadId"));
        assert_eq!(literal_key_case_twin("ACL"), Some("acl"));
        assert_eq!(literal_key_case_twin("acl"), None);
    }

    proptest::proptest! {
        /// A key's bit is its place among the literal keys, found by comparing it with each,
        /// for the literal keys, their near misses (one byte changed, cut, lengthened) and
        /// arbitrary texts.
        #[test]
        fn a_literal_bit_is_the_keys_place(
            pick in 0usize..64,
            edit in 0usize..4,
            at in 0usize..32,
            other in "[a-zA-Z0-9-]{0,12}",
        ) {
            let keys = &INDEX.literal_keys;
            let base = keys[pick % keys.len()];
            let mut key = base.to_string();
            let at = at % base.len();
            match edit {
                0 => {}
                1 => key.replace_range(at..=at, "x"),
                2 => key.truncate(at),
                _ => key = format!("{other}{key}"),
            }
            for key in [key.as_str(), other.as_str()] {
                let searched = keys.iter().position(|k| *k == key).map(|i| i as u32);
                proptest::prop_assert_eq!(literal_bit(key), searched, "{:?}", key);
                proptest::prop_assert_eq!(is_literal_key(key), searched.is_some());
            }
        }
    }

    #[test]
    fn index_views_agree_with_the_table() {
        for op in &OPERATIONS {
            assert_eq!(by_name(op.name), Some(op));
            let in_group = group(op.method, op.path).contains(&op);
            assert_eq!(in_group, !op.deprecated, "{}", op.name);
            assert_eq!(deprecated().contains(&op), op.deprecated, "{}", op.name);
        }
        assert_eq!(by_name("NoSuchOperation"), None);
        let grouped: usize = ["GET", "PUT", "POST", "DELETE", "HEAD"]
            .iter()
            .flat_map(|m| {
                [
                    PathShape::Service,
                    PathShape::Bucket,
                    PathShape::Object,
                    PathShape::WriteGetObjectResponse,
                ]
                .map(|p| group(m, p).len())
            })
            .sum();
        assert_eq!(grouped + deprecated().len(), OPERATION_COUNT);
        let largest = INDEX.groups.iter().map(|g| g.ops.len()).max();
        assert!(
            largest <= Some(crate::s3::classify::MAX_GROUP),
            "{largest:?}"
        );
    }
}
