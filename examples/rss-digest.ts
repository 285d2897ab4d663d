/**
 * `npm run example:rss-digest`: the seed's Daily RSS to Discord digest, as a graph workflow on
 * the memory store. It never touches the internet: the example serves the RSS feeds and a
 * stand-in for the Discord webhook itself, on a local port (node:http).
 *
 * The digest is scheduled on weekdays at 09:00 UTC (`Trigger.cron("0 9 * * 1-5")`; the
 * scheduler runs while the example does), and can be posted on demand (a manual trigger with
 * the same payload), which is what the demo does:
 * - Today's digest: the feed is fetched, the digest built and announced, and posted; the
 *   webhook answers 500 the first time, so the post is retried (with backoff) and succeeds.
 * - A malformed feed: fetching fails for good, and the error route notifies the editors.
 * - An empty feed: building the digest fails, and the error route notifies the editors.
 * A post that fails for good would take its own route, to `record_failed_delivery`.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Schema } from "effect"
import { createMesh, type MeshClient, Step, StepError, Trigger, Workflow } from "squid-mesh"
import { pathOf, printJournal, short, storyLogger } from "./shared/story.js"

interface Feed {
  readonly title: string
  readonly items: ReadonlyArray<{ readonly title: string; readonly link: string }>
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1]?.trim() ?? ""

/** A small RSS reader: the channel's title and its items' titles and links; anything else is malformed. */
const parseFeed = (xml: string): Feed => {
  if (!/<rss[\s>]/.test(xml) || !xml.includes("</rss>")) throw Step.fatal("feed_malformed", "the feed is not a complete RSS document")
  const items = [...xml.matchAll(/<item>([\s\S]*?)<\/item>/g)].map((m) => ({ title: tag(m[1]!, "title"), link: tag(m[1]!, "link") }))
  return { title: tag(xml, "title"), items }
}

const Payload = Schema.Struct({ feedUrl: Schema.String, discordWebhookUrl: Schema.String, postedOn: Schema.String })

/** The digest workflow, with the feed and the webhook as payload defaults (as the seed's `feed_url` default). */
export const postDailyDigest = (urls: { readonly feedUrl: string; readonly discordWebhookUrl: string }) => {
  const defaults = { ...urls, postedOn: Trigger.today({ timeZone: "Etc/UTC" }) }
  return Workflow.graph({
    name: "post-daily-digest",
    triggers: {
      dailyDigest: Trigger.cron("0 9 * * 1-5", { timeZone: "Etc/UTC", payload: Payload, defaults }),
      onDemand: Trigger.manual({ payload: Payload, defaults }),
    },
    steps: {
      fetch_feed: {
        input: ["feedUrl"],
        run: async ({ feedUrl }: { feedUrl: string }) => {
          const response = await fetch(feedUrl)
          if (!response.ok) throw new StepError({ code: "feed_unavailable", message: `the feed answered ${response.status}` })
          return parseFeed(await response.text())
        },
        retry: { maxAttempts: 3, backoff: { type: "fixed", delay: "200 millis" } },
        output: "feed",
      },
      build_digest: {
        input: ["feed", "postedOn"],
        run: ({ feed, postedOn }: { feed: Feed; postedOn: string }) => {
          if (feed.items.length === 0) throw Step.fatal("feed_empty", `"${feed.title}" has no posts`)
          return {
            title: `${feed.title}: ${postedOn}`,
            text: [`**${feed.title}: ${postedOn}**`, ...feed.items.map((i) => `• ${i.title} <${i.link}>`)].join("\n"),
          }
        },
        output: "digest",
      },
      announce_post: { log: "Posting digest to Discord" },
      post_to_discord: {
        input: ["digest", "discordWebhookUrl"],
        run: async ({ digest, discordWebhookUrl }: { digest: { text: string }; discordWebhookUrl: string }, ctx) => {
          const response = await fetch(discordWebhookUrl, {
            method: "POST",
            headers: { "content-type": "application/json", "idempotency-key": ctx.idempotencyKey },
            body: JSON.stringify({ content: digest.text }),
          })
          if (response.status >= 500) throw new StepError({ code: `discord_${response.status}`, message: `Discord answered ${response.status}` })
          if (!response.ok) throw Step.fatal(`discord_${response.status}`, `Discord refused the post (${response.status})`)
          return { status: response.status }
        },
        retry: { maxAttempts: 5, backoff: { type: "exponential", min: "200 millis", max: "2 seconds" } },
        output: "delivery",
      },
      notify_editors: {
        run: ({ failure }: { failure?: { node: string; code: string; message: string } }) =>
          `editors notified: no digest today (${failure?.node}: ${failure?.code}, ${failure?.message})`,
        output: "notice",
      },
      record_failed_delivery: {
        run: ({ failure }: { failure?: { code: string } }) => `delivery failed for good (${failure?.code}); recorded for a retry by hand`,
        output: "notice",
      },
    },
    transitions: [
      { from: "fetch_feed", on: "ok", to: "build_digest" },
      { from: "fetch_feed", on: "error", to: "notify_editors" },
      { from: "build_digest", on: "ok", to: "announce_post" },
      { from: "build_digest", on: "error", to: "notify_editors" },
      { from: "announce_post", on: "ok", to: "post_to_discord" },
      { from: "post_to_discord", on: "ok", to: "complete" },
      { from: "post_to_discord", on: "error", to: "record_failed_delivery" },
      { from: "notify_editors", on: "ok", to: "complete" },
      { from: "record_failed_delivery", on: "ok", to: "complete" },
    ],
  })
}

const rss = (title: string, items: ReadonlyArray<[string, string]>) =>
  `<?xml version="1.0"?><rss version="2.0"><channel><title>${title}</title>${items.map(([t, l]) => `<item><title>${t}</title><link>${l}</link></item>`).join("")}</channel></rss>`

/** The feeds, and a webhook that answers 500 to its first post (Discord having a bad moment), then 204. */
const startLocalServices = async () => {
  const posted: Array<string> = []
  let webhookCalls = 0
  const feeds: Record<string, string> = {
    "/feed.xml": rss("The Shire Gazette", [
      ["Record pumpkin at Bywater", "http://gazette.shire/pumpkin"],
      ["Long-expected party announced", "http://gazette.shire/party"],
      ["Sackville-Bagginses deny spoon theft", "http://gazette.shire/spoons"],
    ]),
    "/broken.xml": "<rss><channel><title>The Bree Courier</title><item><title>Half a post",
    "/empty.xml": rss("The Quiet Hobbit", []),
  }
  const server: Server = createServer((request, response) => {
    if (request.method === "GET" && request.url && feeds[request.url] !== undefined) {
      response.writeHead(200, { "content-type": "application/rss+xml" }).end(feeds[request.url])
      return
    }
    if (request.method === "POST" && request.url === "/api/webhooks/digest") {
      let body = ""
      request.on("data", (chunk) => (body += chunk))
      request.on("end", () => {
        webhookCalls++
        if (webhookCalls === 1) return void response.writeHead(500).end("upstream hiccup")
        posted.push((JSON.parse(body) as { content: string }).content)
        response.writeHead(204).end()
      })
      return
    }
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return { base, posted, webhookCalls: () => webhookCalls, close }
}

/** Prints a finished run: status, path, journal, and the notice of an error route. */
const tell = async (mesh: MeshClient, title: string, runId: string) => {
  const run = await mesh.inspectRun(runId, { history: true })
  console.log(`\n== ${title}: run ${short(runId)} ${run.status}`)
  console.log(`  path: ${pathOf(run)}`)
  printJournal(run, "    ")
  const notice = (run.output as { notice?: string } | undefined)?.notice
  if (notice) console.log(`  ${notice}`)
}

const main = async () => {
  const local = await startLocalServices()
  const Digest = postDailyDigest({ feedUrl: `${local.base}/feed.xml`, discordWebhookUrl: `${local.base}/api/webhooks/digest` })
  const mesh = await createMesh({ workflows: [Digest], store: { kind: "memory" }, logger: storyLogger })
  const worker = await mesh.startWorker({ concurrency: 2, pollInterval: "100 millis" })
  const scheduler = await mesh.startScheduler()
  console.log(`feeds and the webhook served locally at ${local.base}`)
  console.log(`scheduler running: post-daily-digest posts at "0 9 * * 1-5" (09:00 UTC, Monday to Friday); today's digest is posted on demand now`)
  try {
    const today = await mesh.start(Digest, {}, { trigger: "onDemand" })
    await mesh.awaitRun(today.runId, { timeout: "30 seconds" })
    await tell(mesh, "today's digest", today.runId)
    console.log(`  the webhook was called ${local.webhookCalls()} times; Discord shows:`)
    for (const line of (local.posted[0] ?? "(nothing)").split("\n")) console.log(`    | ${line}`)

    const broken = await mesh.start(Digest, { feedUrl: `${local.base}/broken.xml` }, { trigger: "onDemand" })
    const empty = await mesh.start(Digest, { feedUrl: `${local.base}/empty.xml` }, { trigger: "onDemand" })
    for (const run of [broken, empty]) await mesh.awaitRun(run.runId, { timeout: "30 seconds" })
    await tell(mesh, "a malformed feed", broken.runId)
    await tell(mesh, "an empty feed", empty.runId)
    console.log(`\nposts on Discord: ${local.posted.length}`)
  } finally {
    await scheduler.stop()
    await worker.stop()
    await mesh.close()
    await local.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
