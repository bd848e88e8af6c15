package graph_test

// Rows of the authorization matrix for profiles, training, plans and
// enrollment (issue #3). Lists are readable by whoever the privacy filters
// admit; what each role sees is tested in the domain suites.
func init() {
	register(map[string]op{
		"regions":         {doc: `{regions(first:5){totalCount}}`, allowed: all},
		"examPlans":       {doc: `{examPlans(first:5){totalCount}}`, allowed: all},
		"examSessions":    {doc: `{examSessions(first:5){totalCount}}`, allowed: all},
		"profiles":        {doc: `{profiles(first:5){totalCount}}`, allowed: loggedIn},
		"trainingRecords": {doc: `{trainingRecords(first:5){totalCount}}`, allowed: only("ADMIN", "REVIEWER", "TRAINING_ORG", "CANDIDATE")},
		"enrollments":     {doc: `{enrollments(first:5){totalCount}}`, allowed: only("ADMIN", "REVIEWER", "COMPANY", "EXAM_SITE", "PROCTOR", "TRAINING_ORG", "CANDIDATE")},
		"payments":        {doc: `{payments(first:5){totalCount}}`, allowed: loggedIn},
	})
}
