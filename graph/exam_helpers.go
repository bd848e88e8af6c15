package graph

// ok turns a service call that returns only an error into a Boolean! result.
func ok(err error) (bool, error) { return err == nil, err }

// ptrs turns a service's value slice into the pointer slice gqlgen wants.
func ptrs[T any](xs []T, err error) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out, nil
}

// ptr turns a service's value result into the pointer gqlgen wants.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}
