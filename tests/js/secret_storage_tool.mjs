#!/usr/bin/env node
// matrix-js-sdk's own recovery-key and secret-storage code, as a tool for scorebot's tests.
//
// Reads a JSON array of requests on standard input and prints a JSON array of answers, one
// per request, in order.  Nothing here is written by us except the plumbing: encoding,
// encryption and the key check are the sdk's functions that Element Web uses.
//
//   {"op": "encode_recovery_key", "key": BASE64}          -> {"recovery_key": "EsTm ..."}
//   {"op": "decode_recovery_key", "recovery_key": TEXT}   -> {"key": BASE64} | {"error": TEXT}
//   {"op": "new_recovery_key"}                            -> {"key": BASE64, "recovery_key": TEXT}
//   {"op": "encrypt", "key": BASE64, "name": N, "secret": S}
//                                                         -> {"iv", "ciphertext", "mac"}
//   {"op": "decrypt", "key": BASE64, "name": N, "payload": {"iv", "ciphertext", "mac"}}
//                                                         -> {"secret": S} | {"error": TEXT}
//   {"op": "key_description", "key": BASE64}             -> {"algorithm", "iv", "mac"}
//   {"op": "check_key", "key": BASE64, "description": {...}} -> {"ok": true|false}
//
// BASE64 is standard base64 (padding optional).

import { readFileSync } from "node:fs";

import "./node20.mjs"; // before the sdk, which is imported dynamically below

const { encodeRecoveryKey, decodeRecoveryKey } = await import("matrix-js-sdk/lib/crypto-api/recovery-key.js");
const { ServerSideSecretStorageImpl, calculateKeyCheck, SECRET_STORAGE_ALGORITHM_V1_AES } = await import(
    "matrix-js-sdk/lib/secret-storage.js"
);
const { default: encryptAESSecretStorageItem } = await import(
    "matrix-js-sdk/lib/utils/encryptAESSecretStorageItem.js"
);
const { default: decryptAESSecretStorageItem } = await import(
    "matrix-js-sdk/lib/utils/decryptAESSecretStorageItem.js"
);

const fromBase64 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const toBase64 = (bytes) => Buffer.from(bytes).toString("base64");

// checkKey needs an instance; it never touches account data.
const noAccountData = {
    getAccountDataFromServer: async () => null,
    setAccountData: async () => {},
    addListener: () => {},
    removeListener: () => {},
};
const storage = new ServerSideSecretStorageImpl(noAccountData, {});

async function answer(request) {
    try {
        switch (request.op) {
            case "encode_recovery_key":
                return { recovery_key: encodeRecoveryKey(fromBase64(request.key)) };
            case "decode_recovery_key":
                return { key: toBase64(decodeRecoveryKey(request.recovery_key)) };
            case "new_recovery_key": {
                const key = globalThis.crypto.getRandomValues(new Uint8Array(32));
                return { key: toBase64(key), recovery_key: encodeRecoveryKey(key) };
            }
            case "encrypt":
                return await encryptAESSecretStorageItem(request.secret, fromBase64(request.key), request.name);
            case "decrypt":
                return {
                    secret: await decryptAESSecretStorageItem(request.payload, fromBase64(request.key), request.name),
                };
            case "key_description": {
                const { iv, mac } = await calculateKeyCheck(fromBase64(request.key));
                return { algorithm: SECRET_STORAGE_ALGORITHM_V1_AES, iv, mac };
            }
            case "check_key":
                return { ok: await storage.checkKey(fromBase64(request.key), request.description) };
            default:
                return { error: `unknown op ${JSON.stringify(request.op)}` };
        }
    } catch (e) {
        return { error: String(e?.message ?? e) };
    }
}

const requests = JSON.parse(readFileSync(0, "utf8"));
const answers = [];
for (const request of requests) answers.push(await answer(request));
process.stdout.write(JSON.stringify(answers) + "\n");
