//! `aws_sigv4`: AWS Signature Version 4 over the final request (method, URL, headers, body),
//! with `aws-sigv4`. The time is the caller's, so tests can fix it. `service = "s3"` gets S3's
//! variant of the rules.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

use super::super::request::{Prepared, append_query};

/// The signing settings for `service`: S3 differs from every other service (as botocore's
/// `S3SigV4Auth` does): the path is neither normalised nor encoded twice, and the payload hash
/// travels in `x-amz-content-sha256`.
fn settings(service: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if service.eq_ignore_ascii_case("s3") {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}

pub(crate) struct AwsKeys<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// Signs `request` in place: adds `x-amz-date`, `authorization` and, with a session token,
/// `x-amz-security-token`. Every header already on the request is signed (the host is derived
/// from the URL).
pub(crate) fn apply(
    request: &mut Prepared,
    region: &str,
    service: &str,
    keys: &AwsKeys<'_>,
    time: SystemTime,
) -> Result<(), String> {
    let credentials = Credentials::new(
        keys.access_key_id,
        keys.secret_access_key,
        keys.session_token.map(str::to_string),
        None,
        "riposte",
    );
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings(service))
        .build()
        .map_err(|err| format!("incomplete signing parameters ({err})"))?
        .into();
    let signable = SignableRequest::new(
        request.method.as_str(),
        request.url.as_str(),
        request
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|err| format!("the request cannot be signed ({err})"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|err| format!("AWS signing failed ({err})"))?
        .into_parts();
    let (headers, params) = instructions.into_parts();
    for header in headers {
        request.set_header(header.name(), header.value().to_string());
    }
    append_query(
        &mut request.url,
        params.iter().map(|(name, value)| (*name, value.as_ref())),
    );
    Ok(())
}
