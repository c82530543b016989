// Registered users (operations.md "HTTP"): bulk import and delete. MSISDNs
// are normalised as everywhere else (protocol.md section 1, with
// protocol.defaultCountryCode); answers and logs never echo them.
//   POST   /admin/users            [{msisdn, name?}] → 200 {received, imported}; 400 naming each bad index
//                                  (`3.msisdn`); 413 over the batch limit (all or nothing)
//   DELETE /admin/users/{msisdn}   204; 400 not an MSISDN; 404 not registered
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { normalizeMsisdn } from "../protocol/msisdn.js";
import type { UserInput } from "../store/index.js";
import { HttpError, MAX_FIELD_ERRORS, badRequest, zodFields, type FieldError } from "./errors.js";
import type { AdminDeps } from "./admin-deps.js";
import { ERROR_RESPONSES, ImportResponse, NoContent, UsersBody } from "./schemas.js";

const UserSchema = z.strictObject({
  msisdn: z.string().min(1, "must not be empty").max(64),
  name: z.string().max(256).nullable().optional(),
});

const BAD_MSISDN =
  "not an MSISDN: after dropping non-digits and a leading 00 (and prefixing the country code to 10 digits or fewer) it must have 11 to 15 digits";

export function userRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const cc = deps.config.protocol.defaultCountryCode;

  const schema = { body: UsersBody, response: { 200: ImportResponse, ...ERROR_RESPONSES } };
  app.post("/users", { bodyLimit: deps.bodyLimitBytes, schema }, async (request) => {
    const body = request.body;
    if (!Array.isArray(body)) throw badRequest([{ field: "body", message: 'must be a JSON array of {"msisdn","name"}' }]);
    if (body.length > deps.maxUsersPerImport) {
      throw new HttpError(
        "PAYLOAD_TOO_LARGE",
        `at most ${deps.maxUsersPerImport} users per request; this one has ${body.length}: split it`,
        {
          fields: [{ field: "body", message: `more than ${deps.maxUsersPerImport} entries` }],
        },
      );
    }
    const users: UserInput[] = [];
    const fields: FieldError[] = [];
    let bad = 0;
    body.forEach((entry, i) => {
      const parsed = UserSchema.safeParse(entry);
      let errors: FieldError[] = [];
      if (!parsed.success) {
        errors = zodFields(parsed.error, String(i), String(i));
      } else {
        const msisdn = normalizeMsisdn(parsed.data.msisdn, cc);
        if (msisdn === null) errors = [{ field: `${i}.msisdn`, message: BAD_MSISDN }];
        else users.push({ msisdn, name: parsed.data.name ?? null });
      }
      if (errors.length > 0) {
        bad++;
        if (fields.length < MAX_FIELD_ERRORS) fields.push(...errors.slice(0, MAX_FIELD_ERRORS - fields.length));
      }
    });
    if (bad > 0) {
      const first = fields[0]!;
      throw new HttpError(
        "BAD_REQUEST",
        `${bad} of ${body.length} entries are invalid, nothing was imported; ${first.field}: ${first.message}`,
        { fields },
      );
    }
    const imported = await deps.store().users.upsertMany(users);
    request.log.info({ received: body.length, imported }, "users imported through the admin API");
    return { received: body.length, imported };
  });

  const params = { type: "object", properties: { msisdn: { type: "string" } }, required: ["msisdn"] };
  app.delete<{ Params: { msisdn: string } }>(
    "/users/:msisdn",
    { schema: { params, response: { 204: NoContent, ...ERROR_RESPONSES } } },
    async (request, reply) => {
      const msisdn = normalizeMsisdn(request.params.msisdn, cc);
      if (msisdn === null) throw badRequest([{ field: "msisdn", message: BAD_MSISDN }]);
      const deleted = await deps.store().users.delete(msisdn);
      if (!deleted) throw new HttpError("NO_USER_FOUND", "no registered user has this MSISDN");
      request.log.info({ msisdn }, "user deleted through the admin API");
      return reply.code(204).send();
    },
  );
}
