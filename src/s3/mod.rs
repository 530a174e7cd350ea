//! **s3**: an HTTP request → the S3 API operation, bucket and key. STUB.
