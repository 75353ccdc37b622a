package relations

import (
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

func consistencyProto(c Consistency) *v1.Consistency {
	switch {
	case c.Full:
		return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	case c.AtLeastAsFresh != "":
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.AtLeastAsFresh}}}
	default:
		return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
	}
}

func objectProto(o Object) (*v1.ObjectReference, error) {
	if err := o.validate(false); err != nil {
		return nil, err
	}
	t, _ := StoredType(o.Type)
	id, _ := EncodeID(o.ID)
	return &v1.ObjectReference{ObjectType: t, ObjectId: id}, nil
}

func subjectProto(s Subject) (*v1.SubjectReference, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	t, _ := StoredType(s.Type)
	id := Wildcard
	if s.ID != Wildcard {
		id, _ = EncodeID(s.ID)
	}
	return &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: t, ObjectId: id}, OptionalRelation: s.Relation}, nil
}

func relationshipProto(r Relationship) (*v1.Relationship, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	res, err := objectProto(r.Resource)
	if err != nil {
		return nil, err
	}
	sub, err := subjectProto(r.Subject)
	if err != nil {
		return nil, err
	}
	return &v1.Relationship{Resource: res, Relation: r.Relation, Subject: sub}, nil
}

func objectFromProto(o *v1.ObjectReference) (Object, error) {
	t, err := APIType(o.GetObjectType())
	if err != nil {
		return Object{}, err
	}
	id, err := DecodeID(o.GetObjectId())
	if err != nil {
		return Object{}, err
	}
	return Object{Type: t, ID: id}, nil
}

func relationshipFromProto(r *v1.Relationship) (Relationship, error) {
	res, err := objectFromProto(r.GetResource())
	if err != nil {
		return Relationship{}, err
	}
	sub, err := objectFromProto(r.GetSubject().GetObject())
	if err != nil {
		return Relationship{}, err
	}
	return Relationship{
		Resource: res,
		Relation: r.GetRelation(),
		Subject:  Subject{Object: sub, Relation: r.GetSubject().GetOptionalRelation()},
	}, nil
}

func filterProto(f Filter) (*v1.RelationshipFilter, error) {
	if f.ResourceType == "" {
		return nil, fmt.Errorf("%w: filter: resource type is required", ErrInvalid)
	}
	rt, err := StoredType(f.ResourceType)
	if err != nil {
		return nil, fmt.Errorf("filter: resource type: %w", err)
	}
	pf := &v1.RelationshipFilter{ResourceType: rt}
	if f.ResourceID != "" {
		if pf.OptionalResourceId, err = EncodeID(f.ResourceID); err != nil {
			return nil, fmt.Errorf("filter: resource id: %w", err)
		}
	}
	if f.Relation != "" {
		if !validateName(f.Relation) {
			return nil, fmt.Errorf("%w: filter: bad relation name %q", ErrInvalid, f.Relation)
		}
		pf.OptionalRelation = f.Relation
	}
	if f.SubjectType == "" {
		if f.SubjectID != "" || f.SubjectRelation != "" {
			return nil, fmt.Errorf("%w: filter: subject id or relation given without a subject type", ErrInvalid)
		}
		return pf, nil
	}
	st, err := StoredType(f.SubjectType)
	if err != nil {
		return nil, fmt.Errorf("filter: subject type: %w", err)
	}
	sf := &v1.SubjectFilter{SubjectType: st}
	switch f.SubjectID {
	case "":
	case Wildcard:
		sf.OptionalSubjectId = Wildcard
	default:
		if sf.OptionalSubjectId, err = EncodeID(f.SubjectID); err != nil {
			return nil, fmt.Errorf("filter: subject id: %w", err)
		}
	}
	if f.SubjectRelation != "" {
		if !validateName(f.SubjectRelation) {
			return nil, fmt.Errorf("%w: filter: bad subject relation name %q", ErrInvalid, f.SubjectRelation)
		}
		sf.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: f.SubjectRelation}
	}
	pf.OptionalSubjectFilter = sf
	return pf, nil
}
