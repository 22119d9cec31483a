// CloudFront Function (cloudfront-js-2.0), viewer request: hands the viewer's Host to the
// origin as X-Forwarded-Host. CloudFront replaces Host with the origin's domain, so without
// this an app behind the proxy cannot build absolute URLs or pick a tenant by host name.
// Any X-Forwarded-Host the viewer sent is overwritten: the origin must be able to trust it.
function handler(event) {
    var request = event.request;
    var host = request.headers.host;
    if (host && host.value) {
        request.headers['x-forwarded-host'] = { value: host.value };
    } else {
        delete request.headers['x-forwarded-host'];
    }
    return request;
}
