#!/usr/bin/env node
// An independent, encrypted Matrix room member for scorebot's integration tests.
//
// It is matrix-js-sdk (the library Element Web is built on) with its Rust crypto
// (matrix-sdk-crypto-wasm), so none of the end-to-end encryption it does was written
// by us.  It logs in with a password (always a fresh device, in-memory crypto store),
// joins a room it was invited to, waits until the room is known as encrypted and then
// runs a list of steps: send a text, wait for a decrypted reply, react, ...
//
// Usage:
//   node member.mjs --config FILE      (FILE may be "-" for standard input)
//   echo '{...}' | node member.mjs     (a JSON object on standard input)
//   node member.mjs --homeserver URL --user @u:hs --password PW --room '!r:hs' \
//        --steps '[{"action": "send_text", "body": "stack"}]'
//   Environment fallbacks: MATRIX_HOMESERVER, MATRIX_USER_ID, MATRIX_PASSWORD,
//   MATRIX_ROOM_ID, MEMBER_STEPS (JSON), MEMBER_TIMEOUT, MEMBER_LOG_LEVEL.
//
// Config (JSON object): homeserver, user_id, password, room_id, steps, and optionally
//   timeout (overall deadline in seconds, default 180), join_timeout (default 30),
//   log_level (sdk log level, to stderr: trace|debug|info|warn|error|silent, default warn),
//   logout (delete the device when done, default true),
//   device_name (default "scorebot-js-member"),
//   cross_signing (bootstrap cross-signing for this account and sign this device, answering
//     the server's password prompt with `password`, as Element does at first login;
//     default false),
//   isolation ("all": send room keys to every device and read every device, the sdk's
//     legacy default; "only_signed": Element's "exclude insecure devices", the sdk's
//     OnlySignedDevicesIsolationMode, in which devices their owners did not cross-sign
//     get no room keys and their messages fail with UNSIGNED_SENDER_DEVICE; default "all").
//
// Steps (each may have a "name", default "step<N>"; "to" is an event id "$..." or the
// name of an earlier step, whose event it then means):
//   {"action": "send_text", "body": "stack", "msgtype": "m.text", "reply_to": REF?,
//    "formatted_body": "<b>html</b>"?}
//   {"action": "wait_reply", "to": REF, "sender": "@bot:hs", "timeout": 30,
//    "msgtype": "m.notice"?, "body_contains": "..."?, "require_encrypted": true,
//    "decryption_grace": 10}
//   {"action": "wait_event", "sender": "@bot:hs"?, "type": "m.room.message"?,
//    "msgtype": ...?, "body_contains": ...?, "timeout": 30, "require_encrypted": true}
//     (only events that arrive after the step started count)
//   {"action": "react", "to": REF, "key": "👍"}
//   {"action": "sleep", "seconds": 1}
//   {"action": "device_status", "user": "@bot:hs"}   one `device_status` line per device
//   {"action": "user_status", "user": "@bot:hs", "wait_master_not": KEY?, "timeout": 30}
//     one `user_status` line; with wait_master_not, first wait until the server publishes
//     another master key for the user and this client has noticed the change (or the
//     timeout has passed: the line then says what the client believes)
//   {"action": "wait_device", "user": "@bot:hs", "exclude": ["OLDDEVICE"],
//    "signed_by_owner": true, "timeout": 60}
//     (waits until the user has a device not in "exclude", signed by its owner if asked)
//
// Standard output: JSON lines only, everything else goes to stderr.
//   {"kind": "ready", "user_id", "device_id", "room_id", "elapsed_ms"}
//   {"kind": "event", "event_id", "sender", "type", "msgtype", "body", "formatted_body",
//    "in_reply_to", "rel_type", "relates_to", "key", "encrypted"}   one per decrypted event
//      received from another user in the room
//   {"kind": "undecryptable", "event_id", "sender", "reason"}
//   {"kind": "sent", "step", "action", "event_id", "encrypted"}
//   {"kind": "step", "step", "action", "event_id", "elapsed_ms"}   a wait step that succeeded
//   {"kind": "device_status", "step", "user_id", "device_id", "signed_by_owner",
//    "cross_signing_verified", "locally_verified"}   the sdk's getDeviceVerificationStatus
//   {"kind": "user_status", "step", "user_id", "needs_user_approval",
//    "is_cross_signing_verified", "was_cross_signing_verified", "master_key"}
//      the sdk's getUserVerificationStatus; master_key as the server publishes it
//   {"kind": "result", "ok": true|false, "error"?, "exit_code", "elapsed_ms"}   always last
// Exit codes: 0 ok, 1 bad input or unexpected error, 2 timeout, 3 decryption failure
// (while waiting, an event from the awaited sender arrived that could not be decrypted,
// and stayed so for "decryption_grace" seconds, default min(10, timeout)), 4 matrix/http
// error, 5 the awaited event matched but was sent in the clear (require_encrypted).

import { Console } from "node:console";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import "./node20.mjs"; // before the sdk, which is imported dynamically below

const T0 = Date.now();
const elapsed = () => Date.now() - T0;

// ---------------------------------------------------------------------------------------
// stdout is reserved for our JSON lines: every console method (which is what the sdk's
// loglevel-based loggers and the Rust crypto's tracing end up calling) goes to stderr,
// and below the chosen level it goes nowhere.
const LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, silent: 5 };
const stderrConsole = new Console({ stdout: process.stderr, stderr: process.stderr });
let logLevel = LEVELS.warn;

function levelOf(name) {
    const level = LEVELS[String(name ?? "").toLowerCase()];
    if (level === undefined) throw new UsageError(`unknown log level ${JSON.stringify(name)}`);
    return level;
}

const consoleLevels = { trace: 0, debug: 1, log: 2, info: 2, warn: 3, error: 4 };
const quietConsole = Object.create(stderrConsole);
for (const [method, level] of Object.entries(consoleLevels)) {
    quietConsole[method] = (...args) => {
        if (level >= logLevel) stderrConsole[method === "trace" ? "debug" : method](...args);
    };
}
globalThis.console = quietConsole;

/** A matrix-js-sdk `Logger` that writes to stderr at or above the chosen level. */
function makeLogger(prefix = "") {
    const at =
        (level, method) =>
        (...args) => {
            if (level >= logLevel) stderrConsole[method](`[js-sdk${prefix}]`, ...args);
        };
    return {
        trace: at(LEVELS.trace, "debug"),
        debug: at(LEVELS.debug, "debug"),
        info: at(LEVELS.info, "info"),
        warn: at(LEVELS.warn, "warn"),
        error: at(LEVELS.error, "error"),
        getChild: (child) => makeLogger(prefix + child),
    };
}

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + "\n");
}

function note(...args) {
    if (LEVELS.info >= logLevel) stderrConsole.error("[member]", ...args);
}

class UsageError extends Error {
    name = "UsageError";
}
class TimeoutError extends Error {
    name = "TimeoutError";
}
class DecryptionError extends Error {
    name = "DecryptionError";
}
class PlaintextError extends Error {
    name = "PlaintextError";
}

const EXIT = { ok: 0, error: 1, timeout: 2, decryption: 3, matrix: 4, plaintext: 5 };

function exitCodeFor(err) {
    if (err instanceof UsageError) return EXIT.error;
    if (err instanceof TimeoutError) return EXIT.timeout;
    if (err instanceof DecryptionError) return EXIT.decryption;
    if (err instanceof PlaintextError) return EXIT.plaintext;
    if (err && (err.name === "MatrixError" || err.httpStatus || err.errcode)) return EXIT.matrix;
    return EXIT.error;
}

// Stops the client and (by default) logs out, deleting the device; set once logged in.
let cleanupHook = async () => {};

let finished = false;
function finish(code, extra = {}) {
    if (finished) return;
    finished = true;
    emit({ kind: "result", ok: code === 0, exit_code: code, elapsed_ms: elapsed(), ...extra });
    if (code !== 0 && extra.error) stderrConsole.error(`member.mjs: ${extra.error}`);
    // The sdk keeps timers and sockets alive; stdout/stderr to pipes and files are
    // synchronous on Linux, so exiting right away loses nothing.
    process.exit(code);
}

// ---------------------------------------------------------------------------------------
// Configuration.

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text, what) {
    try {
        return JSON.parse(text);
    } catch (e) {
        throw new UsageError(`${what} is not valid JSON: ${e.message}`);
    }
}

async function loadConfig() {
    const { values } = parseArgs({
        options: {
            config: { type: "string" },
            homeserver: { type: "string" },
            user: { type: "string" },
            password: { type: "string" },
            room: { type: "string" },
            steps: { type: "string" },
            timeout: { type: "string" },
            "log-level": { type: "string" },
            "no-logout": { type: "boolean" },
        },
        strict: true,
    });
    let config = {};
    if (values.config === "-") {
        config = parseJson(await readStdin(), "standard input");
    } else if (values.config !== undefined) {
        config = parseJson(readFileSync(values.config, "utf8"), values.config);
    } else if (!process.stdin.isTTY && values.homeserver === undefined && !process.env.MATRIX_HOMESERVER) {
        const text = await readStdin();
        if (text.trim()) config = parseJson(text, "standard input");
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new UsageError("the configuration must be a JSON object");
    }
    const env = process.env;
    const pick = (flag, key, envName) => flag ?? config[key] ?? env[envName];
    const steps = values.steps !== undefined ? parseJson(values.steps, "--steps") : config.steps;
    const cfg = {
        homeserver: pick(values.homeserver, "homeserver", "MATRIX_HOMESERVER"),
        userId: pick(values.user, "user_id", "MATRIX_USER_ID"),
        password: pick(values.password, "password", "MATRIX_PASSWORD"),
        roomId: pick(values.room, "room_id", "MATRIX_ROOM_ID"),
        steps: steps ?? (env.MEMBER_STEPS ? parseJson(env.MEMBER_STEPS, "MEMBER_STEPS") : []),
        timeout: Number(pick(values.timeout, "timeout", "MEMBER_TIMEOUT") ?? 180),
        joinTimeout: Number(config.join_timeout ?? 30),
        logLevel: pick(values["log-level"], "log_level", "MEMBER_LOG_LEVEL") ?? "warn",
        logout: values["no-logout"] ? false : config.logout !== false,
        deviceName: config.device_name ?? "scorebot-js-member",
        crossSigning: config.cross_signing === true,
        isolation: config.isolation ?? "all",
    };
    if (!["all", "only_signed"].includes(cfg.isolation)) {
        throw new UsageError(`isolation must be "all" or "only_signed", not ${JSON.stringify(cfg.isolation)}`);
    }
    for (const [key, name] of [
        ["homeserver", "homeserver"],
        ["userId", "user_id"],
        ["password", "password"],
        ["roomId", "room_id"],
    ]) {
        if (!cfg[key]) throw new UsageError(`missing ${name}`);
    }
    if (!Array.isArray(cfg.steps)) throw new UsageError("steps must be a JSON array");
    if (!(cfg.timeout > 0) || !(cfg.joinTimeout > 0)) throw new UsageError("timeouts must be > 0");
    cfg.steps.forEach((step, i) => {
        if (!step || typeof step !== "object" || typeof step.action !== "string") {
            throw new UsageError(`step ${i} must be an object with an "action"`);
        }
    });
    return cfg;
}

// ---------------------------------------------------------------------------------------
// Helpers.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (which may be async) until it returns a truthy value. */
async function pollUntil(check, timeoutMs, what, intervalMs = 100) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() >= deadline) throw new TimeoutError(`timed out after ${timeoutMs / 1000}s ${what}`);
        await sleep(intervalMs);
    }
}

function describe(event) {
    const content = event.getContent() ?? {};
    const relates = content["m.relates_to"] ?? {};
    return {
        kind: "event",
        event_id: event.getId(),
        sender: event.getSender(),
        type: event.getType(),
        msgtype: content.msgtype ?? null,
        body: content.body ?? null,
        formatted_body: content.formatted_body ?? null,
        in_reply_to: relates["m.in_reply_to"]?.event_id ?? null,
        rel_type: relates.rel_type ?? null,
        relates_to: relates.event_id ?? null,
        key: relates.key ?? null,
        encrypted: event.isEncrypted(),
        origin_server_ts: event.getTs(),
    };
}

// ---------------------------------------------------------------------------------------

async function main() {
    const cfg = await loadConfig();
    logLevel = levelOf(cfg.logLevel);
    setTimeout(() => {
        const error = `overall timeout of ${cfg.timeout}s reached`;
        Promise.race([cleanupHook(), sleep(3000)])
            .catch(() => {})
            .finally(() => finish(EXIT.timeout, { error, error_type: "TimeoutError" }));
    }, cfg.timeout * 1000).unref();

    const sdk = await import("matrix-js-sdk");
    const { AllDevicesIsolationMode, OnlySignedDevicesIsolationMode } = await import(
        "matrix-js-sdk/lib/crypto-api/index.js"
    );
    const { ClientEvent, RoomEvent, MatrixEventEvent, SyncState } = sdk;
    const logger = makeLogger();

    // 1. Log in with the password: a fresh device every time.
    const loginClient = sdk.createClient({ baseUrl: cfg.homeserver, logger });
    const login = await loginClient.loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: cfg.userId },
        password: cfg.password,
        initial_device_display_name: cfg.deviceName,
    });
    note(`logged in as ${login.user_id}, device ${login.device_id}`);

    const client = sdk.createClient({
        baseUrl: cfg.homeserver,
        userId: login.user_id,
        deviceId: login.device_id,
        accessToken: login.access_token,
        logger,
    });
    const me = login.user_id;
    let loggedIn = true;
    const cleanup = async () => {
        cleanupHook = async () => {};
        client.stopClient();
        if (cfg.logout && loggedIn) {
            loggedIn = false;
            try {
                await Promise.race([client.logout(false), sleep(5000)]);
            } catch (e) {
                note("logout failed:", e?.message ?? e);
            }
        }
    };
    cleanupHook = cleanup;

    // 2. Rust crypto, in memory (no IndexedDB needed).
    await client.initRustCrypto({ useIndexedDB: false });
    const crypto = client.getCrypto();
    // Element's default ("legacy") mode: send keys to every device of every member,
    // verified or not.  These are the defaults, set explicitly so that a change of
    // default in a later sdk cannot silently make us skip the bot's unverified device.
    crypto.globalBlacklistUnverifiedDevices = false;
    crypto.setDeviceIsolationMode(
        cfg.isolation === "only_signed" ? new OnlySignedDevicesIsolationMode() : new AllDevicesIsolationMode(false),
    );

    // Every event of the room, decrypted or not, is tracked here.
    let seq = 0;
    const received = new Map(); // event_id -> {seq, event}, successfully decrypted or plaintext
    const undecryptable = new Map(); // event_id -> {seq, sender, reason}
    const waiters = new Set(); // called with each new received entry
    const failureWatchers = new Set(); // called with each new undecryptable event
    const consider = (event) => {
        if (event.getRoomId() !== cfg.roomId) return;
        const id = event.getId();
        if (!id || id.startsWith("~") || event.getSender() === me) return; // local echoes, own events
        if (event.isBeingDecrypted()) return; // MatrixEventEvent.Decrypted will follow
        if (event.isEncrypted() && event.isDecryptionFailure()) {
            if (!undecryptable.has(id) && !received.has(id)) {
                const info = { seq: ++seq, sender: event.getSender(), reason: event.decryptionFailureReason ?? null };
                undecryptable.set(id, info);
                emit({ kind: "undecryptable", event_id: id, sender: info.sender, reason: info.reason });
                for (const watcher of failureWatchers) watcher();
            }
            return;
        }
        if (event.isEncrypted() && !event.getClearContent()) return; // not tried yet
        if (received.has(id)) return;
        undecryptable.delete(id);
        const entry = { seq: ++seq, event };
        received.set(id, entry);
        if (event.getType() === "m.room.message" || event.getType() === "m.reaction" || event.isEncrypted()) {
            emit(describe(event));
        }
        for (const waiter of waiters) waiter(entry);
    };
    client.on(RoomEvent.Timeline, (event, _room, toStartOfTimeline) => {
        if (!toStartOfTimeline) consider(event);
    });
    client.on(MatrixEventEvent.Decrypted, (event) => consider(event));

    // 3. Start syncing and wait for the first sync.
    const firstSync = new Promise((resolve, reject) => {
        const onSync = (state, _prev, data) => {
            if (state === SyncState.Prepared || state === SyncState.Syncing) {
                client.off(ClientEvent.Sync, onSync);
                resolve();
            } else if (state === SyncState.Error && data?.error?.httpStatus === 401) {
                reject(data.error);
            }
        };
        client.on(ClientEvent.Sync, onSync);
    });
    await client.startClient({ initialSyncLimit: 20 });
    let syncTimer;
    const syncTimeout = new Promise((_resolve, reject) => {
        syncTimer = setTimeout(() => {
            reject(new TimeoutError(`timed out after ${cfg.joinTimeout}s waiting for the first sync`));
        }, cfg.joinTimeout * 1000);
    });
    try {
        await Promise.race([firstSync, syncTimeout]);
    } finally {
        clearTimeout(syncTimer);
    }

    // 3b. Cross-sign this account and device, as Element does at first login.  The first
    //     upload needs no interactive auth on current Synapse; if it asks, give the password.
    if (cfg.crossSigning) {
        await crypto.bootstrapCrossSigning({
            authUploadDeviceSigningKeys: async (makeRequest) => {
                try {
                    await makeRequest(null);
                } catch (e) {
                    if (e?.httpStatus !== 401 || !e?.data?.session) throw e;
                    await makeRequest({
                        type: "m.login.password",
                        identifier: { type: "m.id.user", user: me },
                        password: cfg.password,
                        session: e.data.session,
                    });
                }
            },
        });
        const status = await crypto.getDeviceVerificationStatus(me, login.device_id);
        if (!status?.signedByOwner) throw new Error("bootstrapCrossSigning did not sign our own device");
        note(`cross-signed our device ${login.device_id}`);
    }

    // 4. Join (retrying while the invite has not arrived yet), then wait until the
    //    room is joined and known as encrypted.
    const joinDeadline = Date.now() + cfg.joinTimeout * 1000;
    for (;;) {
        try {
            await client.joinRoom(cfg.roomId);
            break;
        } catch (e) {
            if (e?.errcode !== "M_FORBIDDEN" || Date.now() >= joinDeadline) throw e;
            note(`join refused (${e.message}), retrying`);
            await sleep(500);
        }
    }
    await pollUntil(
        async () => {
            const room = client.getRoom(cfg.roomId);
            if (room?.getMyMembership() !== "join") return false;
            return await crypto.isEncryptionEnabledInRoom(cfg.roomId);
        },
        Math.max(joinDeadline - Date.now(), 1000),
        `waiting until ${cfg.roomId} is joined and known as encrypted`,
    );
    emit({ kind: "ready", user_id: me, device_id: login.device_id, room_id: cfg.roomId, elapsed_ms: elapsed() });

    // 5. The steps.
    const named = new Map(); // step name -> event id
    const resolveRef = (ref, stepName) => {
        if (typeof ref !== "string" || !ref) throw new UsageError(`step ${stepName}: "to" is missing`);
        if (ref.startsWith("$")) return ref;
        const id = named.get(ref);
        if (!id) throw new UsageError(`step ${stepName}: no earlier step named ${JSON.stringify(ref)}`);
        return id;
    };
    const sentSeq = new Map(); // event id we sent -> seq at the time

    /**
     * Waits for a received event matching `match`; only events with seq > `afterSeq` count.
     * An undecryptable event from `failureSender` (any sender if unset) that arrives
     * meanwhile and is still undecryptable `graceS` seconds later fails the wait as a
     * decryption failure (keys may legitimately arrive a little after their event; the sdk
     * then retries).  A match that is in the clear fails it too, if `requireEncrypted`.
     */
    const waitFor = ({ match, afterSeq, timeoutS, graceS, what, failureSender, requireEncrypted }) =>
        new Promise((resolve, reject) => {
            const relevantFailures = () =>
                [...undecryptable.entries()]
                    .filter(([, f]) => f.seq > afterSeq && (!failureSender || f.sender === failureSender))
                    .map(([id, f]) => `${id} from ${f.sender}: ${f.reason}`);
            let graceTimer = null;
            const done = () => {
                waiters.delete(waiter);
                failureWatchers.delete(onFailure);
                clearTimeout(timer);
                clearTimeout(graceTimer);
            };
            const waiter = (entry) => {
                if (entry.seq <= afterSeq || !match(entry.event)) return;
                done();
                if (requireEncrypted && !entry.event.isEncrypted()) {
                    reject(new PlaintextError(`${what}: ${entry.event.getId()} matched but was sent in the clear`));
                } else {
                    resolve(entry.event);
                }
            };
            const failNow = (reasonPrefix) => {
                const failed = relevantFailures();
                if (!failed.length) return false;
                done();
                reject(
                    new DecryptionError(
                        `${what}: ${reasonPrefix}, but ${failed.length} event(s) could not be decrypted: ` +
                            failed.join("; "),
                    ),
                );
                return true;
            };
            const onFailure = () => {
                if (graceTimer === null && relevantFailures().length) {
                    graceTimer = setTimeout(() => {
                        if (!failNow(`no matching decrypted event ${graceS}s after an undecryptable one`)) {
                            graceTimer = null; // they were decrypted after all
                            onFailure();
                        }
                    }, graceS * 1000);
                }
            };
            const timer = setTimeout(() => {
                if (!failNow(`no matching decrypted event within ${timeoutS}s`)) {
                    done();
                    reject(new TimeoutError(`timed out after ${timeoutS}s ${what}`));
                }
            }, timeoutS * 1000);
            waiters.add(waiter);
            failureWatchers.add(onFailure);
            for (const entry of received.values()) {
                if (!waiters.has(waiter)) return;
                waiter(entry);
            }
            onFailure();
        });

    const contentMatches = (step, event) => {
        const content = event.getContent() ?? {};
        if (step.sender && event.getSender() !== step.sender) return false;
        if (step.type && event.getType() !== step.type) return false;
        if (step.msgtype && content.msgtype !== step.msgtype) return false;
        if (step.body_contains && !String(content.body ?? "").includes(step.body_contains)) return false;
        return true;
    };

    for (const [index, step] of cfg.steps.entries()) {
        const name = step.name ?? `step${index}`;
        const timeoutS = Number(step.timeout ?? 30);
        const graceS = Number(step.decryption_grace ?? Math.min(10, timeoutS));
        note(`step ${name}: ${step.action}`);
        switch (step.action) {
            case "send_text": {
                const content = { msgtype: step.msgtype ?? "m.text", body: String(step.body ?? "") };
                if (step.formatted_body) {
                    content.format = "org.matrix.custom.html";
                    content.formatted_body = step.formatted_body;
                }
                if (step.reply_to) {
                    content["m.relates_to"] = { "m.in_reply_to": { event_id: resolveRef(step.reply_to, name) } };
                }
                const before = seq;
                const { event_id: eventId } = await client.sendMessage(cfg.roomId, content);
                sentSeq.set(eventId, before);
                named.set(name, eventId);
                const local = client.getRoom(cfg.roomId)?.findEventById(eventId);
                const encrypted = local ? local.isEncrypted() : null;
                emit({ kind: "sent", step: name, action: step.action, event_id: eventId, encrypted });
                if (encrypted === false) throw new Error(`message ${eventId} was sent unencrypted`);
                break;
            }
            case "react": {
                const target = resolveRef(step.to ?? step.event_id, name);
                const { event_id: eventId } = await client.sendEvent(cfg.roomId, "m.reaction", {
                    "m.relates_to": { rel_type: "m.annotation", event_id: target, key: String(step.key ?? "👍") },
                });
                named.set(name, eventId);
                // Like Element, the sdk sends reactions in the clear even in encrypted rooms.
                const local = client.getRoom(cfg.roomId)?.findEventById(eventId);
                const encrypted = local ? local.isEncrypted() : null;
                emit({ kind: "sent", step: name, action: step.action, event_id: eventId, relates_to: target, encrypted });
                break;
            }
            case "wait_reply": {
                const target = resolveRef(step.to ?? step.event_id, name);
                const afterSeq = sentSeq.get(target) ?? -1;
                const what = `waiting for a reply to ${target}${step.sender ? ` from ${step.sender}` : ""}`;
                const event = await waitFor({
                    match: (ev) =>
                        contentMatches({ type: "m.room.message", ...step }, ev) &&
                        ev.getContent()?.["m.relates_to"]?.["m.in_reply_to"]?.event_id === target,
                    afterSeq,
                    timeoutS,
                    graceS,
                    what,
                    failureSender: step.sender,
                    requireEncrypted: step.require_encrypted !== false,
                });
                named.set(name, event.getId());
                emit({ kind: "step", step: name, action: step.action, event_id: event.getId(), elapsed_ms: elapsed() });
                break;
            }
            case "wait_event": {
                const what = `waiting for an event matching ${JSON.stringify(step)}`;
                const event = await waitFor({
                    match: (ev) => contentMatches(step, ev),
                    afterSeq: seq,
                    timeoutS,
                    graceS,
                    what,
                    failureSender: step.sender,
                    requireEncrypted: step.require_encrypted !== false,
                });
                named.set(name, event.getId());
                emit({ kind: "step", step: name, action: step.action, event_id: event.getId(), elapsed_ms: elapsed() });
                break;
            }
            case "device_status": {
                const user = String(step.user ?? "");
                const devices = (await crypto.getUserDeviceInfo([user], true)).get(user) ?? new Map();
                for (const deviceId of devices.keys()) {
                    const status = await crypto.getDeviceVerificationStatus(user, deviceId);
                    emit({
                        kind: "device_status",
                        step: name,
                        user_id: user,
                        device_id: deviceId,
                        signed_by_owner: status?.signedByOwner ?? false,
                        cross_signing_verified: status?.crossSigningVerified ?? false,
                        locally_verified: status?.localVerified ?? false,
                    });
                }
                break;
            }
            case "user_status": {
                const user = String(step.user ?? "");
                const publishedMaster = async () => {
                    const published = await client.downloadKeysForUsers([user]);
                    const keys = Object.values(published.master_keys?.[user]?.keys ?? {});
                    return keys.length === 1 ? keys[0] : null;
                };
                await crypto.getUserDeviceInfo([user], true);
                if (step.wait_master_not) {
                    await pollUntil(
                        async () => (await publishedMaster()) !== step.wait_master_not,
                        timeoutS * 1000,
                        `waiting for ${user} to publish a new identity`,
                        500,
                    );
                    // The client learns of the change through sync's device-list updates.
                    const deadline = Date.now() + timeoutS * 1000;
                    while (!(await crypto.getUserVerificationStatus(user)).needsUserApproval && Date.now() < deadline) {
                        await sleep(500);
                    }
                }
                const status = await crypto.getUserVerificationStatus(user);
                const master = await publishedMaster();
                emit({
                    kind: "user_status",
                    step: name,
                    user_id: user,
                    needs_user_approval: status.needsUserApproval,
                    is_cross_signing_verified: status.isCrossSigningVerified(),
                    was_cross_signing_verified: status.wasCrossSigningVerified(),
                    master_key: master,
                });
                break;
            }
            case "wait_device": {
                const user = String(step.user ?? "");
                const exclude = new Set(step.exclude ?? []);
                const deviceId = await pollUntil(
                    async () => {
                        const devices = (await crypto.getUserDeviceInfo([user], true)).get(user) ?? new Map();
                        for (const id of devices.keys()) {
                            if (exclude.has(id)) continue;
                            if (step.signed_by_owner) {
                                const status = await crypto.getDeviceVerificationStatus(user, id);
                                if (!status?.signedByOwner) continue;
                            }
                            return id;
                        }
                        return null;
                    },
                    timeoutS * 1000,
                    `waiting for a new device of ${user}`,
                    500,
                );
                emit({ kind: "step", step: name, action: step.action, device_id: deviceId, elapsed_ms: elapsed() });
                break;
            }
            case "sleep":
                await sleep(Number(step.seconds ?? 1) * 1000);
                break;
            default:
                throw new UsageError(`step ${name}: unknown action ${JSON.stringify(step.action)}`);
        }
    }

    await cleanup();
    return EXIT.ok;
}

// Give the sdk one last chance to hand us asynchronous failures as results.
process.on("unhandledRejection", (err) => {
    stderrConsole.error("unhandled rejection:", err);
});

main().then(
    (code) => finish(code),
    async (err) => {
        try {
            await Promise.race([cleanupHook(), sleep(5000)]);
        } catch (e) {
            note("cleanup failed:", e?.message ?? e);
        }
        finish(exitCodeFor(err), { error: String(err?.message ?? err), error_type: err?.name ?? null });
    },
);
