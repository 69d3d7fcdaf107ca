// Node 20 shim, imported before matrix-js-sdk by every script here.  matrix-js-sdk 43
// declares node >= 22; the only newer-than-20 API it needs on the paths we use is
// Promise.withResolvers (ES2024, Node 22).  The scripts import the sdk dynamically, after
// this module has run.
if (typeof Promise.withResolvers !== "function") {
    Object.defineProperty(Promise, "withResolvers", {
        configurable: true,
        writable: true,
        value: function withResolvers() {
            let resolve;
            let reject;
            const promise = new this((res, rej) => {
                resolve = res;
                reject = rej;
            });
            return { promise, resolve, reject };
        },
    });
}
