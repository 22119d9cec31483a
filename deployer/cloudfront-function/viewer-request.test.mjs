// Runs the deployed function source unchanged under node with CloudFront Functions events in
// the documented event structure (version 1.0, viewer-request).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const source = readFileSync(new URL('./viewer-request.js', import.meta.url), 'utf8');
const sandboxed = vm.runInNewContext(`${source}\nhandler;`, {});
// Objects made inside the sandbox have its prototypes; a JSON round trip compares by value.
const handler = (event) => JSON.parse(JSON.stringify(sandboxed(event)));

function viewerRequest(headers, viewer = { ip: '198.51.100.11' }) {
    return {
        version: '1.0',
        context: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'viewer-request',
            requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
        },
        viewer,
        request: {
            method: 'GET',
            uri: '/media/index.html',
            querystring: { q: { value: 'a b' } },
            headers,
            cookies: { id: { value: 'CookieIdValue' } },
        },
    };
}

test('copies the viewer Host into X-Forwarded-Host', () => {
    const request = handler(viewerRequest({
        host: { value: 'cdn.shop.example.com' },
        accept: { value: 'text/html' },
    }));
    assert.deepEqual(request.headers['x-forwarded-host'], { value: 'cdn.shop.example.com' });
    assert.deepEqual(request.headers.host, { value: 'cdn.shop.example.com' });
    assert.deepEqual(request.headers.accept, { value: 'text/html' });
    assert.equal(request.uri, '/media/index.html');
    assert.deepEqual(request.querystring, { q: { value: 'a b' } });
    assert.deepEqual(request.cookies, { id: { value: 'CookieIdValue' } });
});

test('a spoofed X-Forwarded-Host from the viewer is replaced', () => {
    const request = handler(viewerRequest({
        host: { value: 'cdn.shop.example.com' },
        'x-forwarded-host': { value: 'evil.example.net' },
    }));
    assert.deepEqual(request.headers['x-forwarded-host'], { value: 'cdn.shop.example.com' });
});

test('without a Host header no X-Forwarded-Host reaches the origin', () => {
    const request = handler(viewerRequest({ 'x-forwarded-host': { value: 'evil.example.net' } }));
    assert.equal(request.headers['x-forwarded-host'], undefined);
});

test('the function returns the request, not a response', () => {
    const request = handler(viewerRequest({ host: { value: 'a.example.com' } }));
    assert.equal(request.method, 'GET');
    assert.equal(request.statusCode, undefined);
});

// Every header an origin may take for a proxy fact, as a viewer would forge it. Keys are lower
// case: CloudFront Functions hand the handler lower-case header names, so `Forwarded` and
// `forwarded` cannot both be present.
const FORGEABLE = [
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

for (const name of FORGEABLE) {
    test(`a viewer-sent ${name} is removed, other headers stay`, () => {
        const request = handler(viewerRequest({
            host: { value: 'cdn.shop.example.com' },
            accept: { value: 'text/html' },
            [name]: { value: 'for=203.0.113.9;host=evil.example.net' },
        }));
        assert.equal(name in request.headers, false, JSON.stringify(request.headers));
        assert.deepEqual(request.headers.accept, { value: 'text/html' });
    });

    test(`a viewer-sent ${name} with several values is removed`, () => {
        const request = handler(viewerRequest({
            host: { value: 'cdn.shop.example.com' },
            [name]: {
                value: '203.0.113.9',
                multiValue: [{ value: '203.0.113.9' }, { value: '203.0.113.10' }],
            },
        }));
        assert.equal(name in request.headers, false);
    });
}

test('without forged headers the request keeps exactly its own headers plus the two the proxy sets', () => {
    const request = handler(viewerRequest({
        host: { value: 'cdn.shop.example.com' },
        'user-agent': { value: 'curl/8.5.0' },
    }));
    assert.deepEqual(Object.keys(request.headers).sort(), [
        'host',
        'true-client-ip',
        'user-agent',
        'x-forwarded-host',
    ]);
});

test('True-Client-IP carries the address CloudFront saw, replacing a forged one', () => {
    const request = handler(viewerRequest({
        host: { value: 'cdn.shop.example.com' },
        'true-client-ip': { value: '10.0.0.1' },
    }));
    assert.deepEqual(request.headers['true-client-ip'], { value: '198.51.100.11' });
});

test('an IPv6 viewer address is passed as CloudFront gives it', () => {
    const request = handler(viewerRequest(
        { host: { value: 'cdn.shop.example.com' } },
        { ip: '2001:db8::8a2e:370:7334' },
    ));
    assert.deepEqual(request.headers['true-client-ip'], { value: '2001:db8::8a2e:370:7334' });
});

test('without a viewer address no True-Client-IP reaches the origin', () => {
    const request = handler(viewerRequest(
        { host: { value: 'cdn.shop.example.com' }, 'true-client-ip': { value: '10.0.0.1' } },
        {},
    ));
    assert.equal('true-client-ip' in request.headers, false);
});

test('X-Forwarded-For is left for CloudFront to append to', () => {
    const request = handler(viewerRequest({
        host: { value: 'cdn.shop.example.com' },
        'x-forwarded-for': { value: '192.0.2.4, 192.0.2.3' },
    }));
    assert.deepEqual(request.headers['x-forwarded-for'], { value: '192.0.2.4, 192.0.2.3' });
});

test('the function never writes a header CloudFront forbids functions to add', () => {
    // "Restrictions on all edge functions": X-Real-IP and X-Forwarded-Proto are disallowed
    // (a function adding one gets the viewer a 502); they never appear in the event.
    const request = handler(viewerRequest({ host: { value: 'cdn.shop.example.com' } }));
    assert.equal('x-real-ip' in request.headers, false);
    assert.equal('x-forwarded-proto' in request.headers, false);
});
