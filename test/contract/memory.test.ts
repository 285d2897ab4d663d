import { Effect } from "effect"
import { make } from "../../src/store/memory.js"
import { storeContract } from "./storeContract.js"

storeContract("memory", () => Effect.sync(make))
