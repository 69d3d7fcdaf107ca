#!/usr/bin/env node
// A second session of the bot's own account, opened the way Element does when an organizer
// logs in as the bot and enters its recovery key: matrix-js-sdk with Rust crypto unlocks
// secret storage with the key and takes the cross-signing keys from it.
//
// Usage: echo '{"homeserver", "user_id", "password", "recovery_key"}' | node bot_recovery.mjs
//
// Prints one JSON line and exits 0, or a line with "error" and exits 1:
//   {"default_key_id", "key_check_ok",        secretStorage.checkKey on the default key
//    "secrets": {"master": PUBKEY, ...},       public keys of the private keys it read
//    "published": {"master": PUBKEY, ...},     the account's public keys on the server
//    "cross_signing_status": {...},            getCrossSigningStatus() after
//                                              bootstrapCrossSigning imported the keys
//    "own_master_key",                         getCrossSigningKeyId() of the session
//    "device_id", "device_signed_by_owner"}    this new session's device, signed with them
// The session logs out (deleting its device) before it exits.

import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";

import "./node20.mjs"; // before the sdk, which is imported dynamically below

// The sdk logs through console; keep stdout for our one line.
for (const method of ["log", "info", "debug", "trace", "warn"]) console[method] = () => {};

const cfg = JSON.parse(readFileSync(0, "utf8"));
const sdk = await import("matrix-js-sdk");
const { decodeRecoveryKey } = await import("matrix-js-sdk/lib/crypto-api/recovery-key.js");
const { CrossSigningKey } = await import("matrix-js-sdk/lib/crypto-api/index.js");

/** The unpadded base64 Ed25519 public key of a 32-byte private seed (unpadded base64). */
function publicKeyOf(seedBase64) {
    // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), so Node's own crypto can read it.
    const prefix = Buffer.from("302e020100300506032b657004220420", "hex");
    const seed = Buffer.from(seedBase64, "base64");
    const key = createPrivateKey({ key: Buffer.concat([prefix, seed]), format: "der", type: "pkcs8" });
    const jwk = createPublicKey(key).export({ format: "jwk" });
    return Buffer.from(jwk.x, "base64url").toString("base64").replace(/=+$/, "");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let client;
let exitCode = 0;
try {
    const login = await sdk.createClient({ baseUrl: cfg.homeserver }).loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: cfg.user_id },
        password: cfg.password,
        initial_device_display_name: "organizer's Element (test)",
    });
    const key = decodeRecoveryKey(cfg.recovery_key);
    client = sdk.createClient({
        baseUrl: cfg.homeserver,
        userId: login.user_id,
        deviceId: login.device_id,
        accessToken: login.access_token,
        cryptoCallbacks: {
            // What Element's "enter your recovery key" dialog answers.
            getSecretStorageKey: async ({ keys }) => {
                for (const [keyId, info] of Object.entries(keys)) {
                    if (await client.secretStorage.checkKey(key, info)) return [keyId, key];
                }
                return null;
            },
        },
    });
    await client.initRustCrypto({ useIndexedDB: false });
    const crypto = client.getCrypto();
    const synced = new Promise((resolve) => {
        client.on(sdk.ClientEvent.Sync, (state) => {
            if (state === "PREPARED" || state === "SYNCING") resolve();
        });
    });
    await client.startClient({ initialSyncLimit: 1 });
    await synced;

    const defaultKeyId = await client.secretStorage.getDefaultKeyId();
    const [, keyInfo] = (await client.secretStorage.getKey(defaultKeyId)) ?? [null, null];
    const keyCheckOk = keyInfo ? await client.secretStorage.checkKey(key, keyInfo) : false;
    const secrets = {};
    for (const usage of ["master", "self_signing", "user_signing"]) {
        const seed = await client.secretStorage.get(`m.cross_signing.${usage}`);
        secrets[usage] = seed ? publicKeyOf(seed) : null;
    }
    const keys = await client.downloadKeysForUsers([login.user_id]);
    const only = (table) => {
        const values = Object.values(table?.[login.user_id]?.keys ?? {});
        return values.length === 1 ? values[0] : null;
    };
    const published = {
        master: only(keys.master_keys),
        self_signing: only(keys.self_signing_keys),
        user_signing: only(keys.user_signing_keys),
    };
    // Element, once the key is entered: take the keys from secret storage and sign this
    // device with them.  It refuses keys that do not match the published ones.
    await crypto.getUserDeviceInfo([login.user_id], true);
    await crypto.bootstrapCrossSigning({});
    const status = await crypto.getCrossSigningStatus();
    // The signature reaches this session's view of its own device after the server's next
    // device-list update comes through sync.
    let device = null;
    for (let tries = 0; tries < 60 && !device?.signedByOwner; tries++) {
        if (tries) await sleep(500);
        device = await crypto.getDeviceVerificationStatus(login.user_id, login.device_id);
    }
    process.stdout.write(
        JSON.stringify({
            default_key_id: defaultKeyId,
            key_check_ok: keyCheckOk,
            secrets,
            published,
            cross_signing_status: status,
            own_master_key: await crypto.getCrossSigningKeyId(CrossSigningKey.Master),
            device_id: login.device_id,
            device_signed_by_owner: device?.signedByOwner ?? false,
        }) + "\n",
    );
} catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e?.message ?? e) }) + "\n");
    exitCode = 1;
} finally {
    if (client) {
        client.stopClient();
        try {
            await Promise.race([client.logout(false), sleep(5000)]);
        } catch {
            // The test only needs the line above; a failed logout leaves a stale device.
        }
    }
}
process.exit(exitCode);
