// CloudFront Function (cloudfront-js-2.0), viewer request: makes the proxy facts an origin
// reads trustworthy. Anything a viewer sends can be forged, so every header an origin may take
// for a fact about the proxy hop is either set here from what CloudFront itself knows or
// removed.
//
// - X-Forwarded-Host: the viewer's Host. CloudFront replaces Host with the origin's domain
//   (AllViewerExceptHostHeader), so without this an app behind the proxy cannot build
//   absolute URLs or pick a tenant by host name. A viewer-sent value is overwritten.
// - True-Client-IP: the viewer's address as CloudFront saw the connection (event.viewer.ip).
//   CloudFront's own CloudFront-Viewer-Address is not added by the managed origin request
//   policies the stack uses, and a policy that adds it (allViewerAndWhitelistCloudFront) would
//   also forward the viewer's Host, which origins such as Lambda function URLs and API Gateway
//   refuse. A viewer-sent value is overwritten.
// - Removed: headers frameworks read for the client address, host, scheme prefix or path
//   (RFC 7239 Forwarded, X-Original-Host, X-Client-IP, ...), and CloudFront-Viewer-Address,
//   which only a viewer can have sent (no policy of the stack asks CloudFront to add it).
//
// Not touched, because CloudFront owns them: X-Forwarded-For (CloudFront appends the viewer's
// address to it), and X-Real-IP and X-Forwarded-Proto (CloudFront removes viewer values before
// the origin request; functions never see them and may not add them).
// Header names in the event are lower case.
var UNTRUSTED = [
    'forwarded',
    'x-original-host',
    'x-host',
    'x-forwarded-server',
    'x-forwarded-port',
    'x-forwarded-prefix',
    'x-original-url',
    'x-rewrite-url',
    'x-client-ip',
    'client-ip',
    'x-cluster-client-ip',
    'cf-connecting-ip',
    'fastly-client-ip',
    'cloudfront-viewer-address',
];

function handler(event) {
    var request = event.request;
    var headers = request.headers;
    for (var i = 0; i < UNTRUSTED.length; i++) {
        delete headers[UNTRUSTED[i]];
    }
    var host = headers.host;
    if (host && host.value) {
        headers['x-forwarded-host'] = { value: host.value };
    } else {
        delete headers['x-forwarded-host'];
    }
    if (event.viewer && event.viewer.ip) {
        headers['true-client-ip'] = { value: event.viewer.ip };
    } else {
        delete headers['true-client-ip'];
    }
    return request;
}
