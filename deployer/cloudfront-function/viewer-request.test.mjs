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

function viewerRequest(headers) {
    return {
        version: '1.0',
        context: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'viewer-request',
            requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
        },
        viewer: { ip: '198.51.100.11' },
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
